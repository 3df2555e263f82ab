// The cached plain-JS bundles `azr exec` and the sandbox workers start from (src/platform/bundle.mjs): rebuilt when an
// input file changes, skipped with AZR_NO_BUNDLE=1, and `azr exec` still works through tsx without one.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cachedBundle } from '../../src/platform/bundle.mjs';
import { runAzr } from '../azrProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'azr-bundle-test-'));
/** Bundles these tests built (in node_modules/.cache/azr), removed with their manifests afterwards. */
const built: URL[] = [];
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const url of built) {
    const file = fileURLToPath(url);
    rmSync(file, { force: true });
    rmSync(file.replace(/-[0-9a-f]{16}\.mjs$/, '.json'), { force: true }); // the manifest: <key>.json beside <key>-<hash>.mjs
  }
});
afterEach(() => {
  delete process.env.AZR_NO_BUNDLE;
});

describe('cachedBundle', () => {
  it('bundles an entry with its imports, reuses the bundle while the inputs are unchanged, rebuilds when one changes', async () => {
    const entry = join(dir, 'entry.ts');
    const dep = join(dir, 'dep.ts');
    writeFileSync(entry, "import { value } from './dep.js';\nexport const answer: number = value * 2;\n");
    writeFileSync(dep, 'export const value: number = 21;\n');
    const first = await cachedBundle(pathToFileURL(entry));
    expect(first).not.toBeNull();
    built.push(first!);
    expect(((await import(first!.href)) as { answer: number }).answer).toBe(42);
    // Reused, not rebuilt: a rebuild would give the same name (it is the hash of the code) but write the file anew.
    const written = statSync(first!, { bigint: true });
    expect((await cachedBundle(pathToFileURL(entry)))!.href).toBe(first!.href);
    const after = statSync(first!, { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([written.ino, written.mtimeNs]);

    writeFileSync(dep, 'export const value: number = 500;\n'); // an imported file changes (size and mtime)
    const second = await cachedBundle(pathToFileURL(entry));
    built.push(second!);
    expect(second!.href).not.toBe(first!.href);
    expect(((await import(second!.href)) as { answer: number }).answer).toBe(1000);
  });

  it('returns null with AZR_NO_BUNDLE=1 (callers fall back to tsx)', async () => {
    const entry = join(dir, 'other.ts');
    writeFileSync(entry, 'export const x = 1;\n');
    process.env.AZR_NO_BUNDLE = '1';
    expect(await cachedBundle(pathToFileURL(entry))).toBeNull();
  });
});

describe('azr exec with AZR_NO_BUNDLE=1', () => {
  it('runs through tsx and answers as usual', async () => {
    const stdin = `${JSON.stringify({ program: 'function f(n) { return n * 3; }', input: '14' })}\n${JSON.stringify({ program: 'function f() { return Date.now(); }', input: '' })}\n`;
    const r = await runAzr(['exec', '-q'], { stdin, env: { ...process.env, AZR_NO_BUNDLE: '1' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(out).toEqual([
      { ok: true, output: '42' },
      { ok: false, error: { kind: 'banned', message: expect.stringContaining('Date') } },
    ]);
  }, 60_000);
});
