// `azr exec` through the real command: a child process per case, JSON Lines in, JSON Lines out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { azr as spawnAzr, runAzr } from '../azrProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'azr-exec-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const azr = (args: string[], stdin = '', nodeFlags: string[] = []) => runAzr(args, { stdin, nodeFlags });

const lines = (out: string) =>
  out
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const req = (program: string, input = '', expected?: string) =>
  JSON.stringify(expected === undefined ? { program, input } : { program, input, expected });

describe('azr exec', () => {
  it('runs under a process-wide V8 flag, which workers cannot take', async () => {
    const r = await azr(['exec', '-q'], req('function f(n) { return n + 1; }', '2'), ['--max-semi-space-size=32']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([{ ok: true, output: '3' }]);
  });

  it('answers every line in order: values, matches, errors and malformed lines', async () => {
    const input = [
      req('function f(s) { return s.split("").reverse().join(""); }', '"abc"'),
      req('function f(x) { return x * 2; }', '21', '42'),
      req('function f(x) { return [x, x]; }', '1', '[1, 2]'),
      'not json',
      req('function f() { while (true) {} }'),
      JSON.stringify({ program: 'function f() {}', input: '', extra: 1 }),
      JSON.stringify({ program: 'function f() {}' }),
      '',
      req('let c = 0; function f() { return c++; }'),
      req('function f() { return Math.random(); }'),
      req('function f(x) { return { b: x, a: [1, , 3] }; }', 'new Set([2, 1])', '{a: [1, , 3], b: new Set([1, 2])}'),
      req('function f(x) { return x.map((y) => y + 1); }', '[1, 2]', '[1, 2].map((y) => y + 1)'),
      req('function f(x) { return x; }', '1); globalThis.x = (2'),
    ].join('\n');
    const { code, stdout, stderr } = await azr(['exec', '--timeout', '200'], `${input}\n`);
    expect(code).toBe(0);
    expect(stderr).toMatch(/azr exec: 13 lines/);
    const out = lines(stdout);
    expect(out).toHaveLength(13);
    expect(out[0]).toEqual({ ok: true, output: '"cba"' });
    expect(out[1]).toEqual({ ok: true, output: '42', match: true });
    expect(out[2]).toEqual({ ok: true, output: '[1, 1]', match: false });
    expect(out[3]).toMatchObject({ ok: false, error: { kind: 'bad_request' } });
    expect(out[4]).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect(out[5]).toMatchObject({
      ok: false,
      error: { kind: 'bad_request', message: expect.stringContaining('extra') },
    });
    expect(out[6]).toMatchObject({
      ok: false,
      error: { kind: 'bad_request', message: expect.stringContaining('input') },
    });
    expect(out[7]).toMatchObject({ ok: false, error: { kind: 'bad_request' } });
    expect(out[8]).toMatchObject({ ok: false, error: { kind: 'nondeterministic' } });
    expect(out[9]).toMatchObject({
      ok: false,
      error: { kind: 'banned', message: expect.stringContaining('Math.random') },
    });
    expect(out[10]).toEqual({ ok: true, output: '{a: [1, , 3], b: new Set([1, 2])}', match: true });
    expect(out[11]).toEqual({ ok: true, output: '[2, 3]', match: true });
    expect(out[12]).toMatchObject({ ok: false, error: { kind: 'bad_input' } });
  });

  it('--ban adds names to the banned list and --allow takes them off (comma-separated, repeatable)', async () => {
    const input = [
      req('function f(n) { return Math.max(n, 3); }', '1'),
      req('function f() { return typeof globalThis; }'),
      req('function f() { return typeof Date; }'),
      req('function f(n) { return Math.min(n, 3); }', '1'),
    ].join('\n');
    const plain = await azr(['exec', '-q'], input);
    expect(plain.code).toBe(0);
    expect(lines(plain.stdout).map((o) => (o.ok ? 'ok' : (o.error as { kind: string }).kind))).toEqual([
      'ok',
      'banned',
      'banned',
      'ok',
    ]);
    const r = await azr(['exec', '-q', '--ban', 'Math.max', '--allow', 'globalThis,Date', '--ban', 'Math.min'], input);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      { ok: false, error: { kind: 'banned', message: expect.stringMatching(/Math\.max.*--ban|--ban.*Math\.max/) } },
      { ok: true, output: '"object"' },
      { ok: true, output: '"undefined"' },
      { ok: false, error: { kind: 'banned', message: expect.stringContaining('Math.min') } },
    ]);
  });

  it('skips the static and determinism checks with --no-validate (the sandbox still holds)', async () => {
    const input = [
      req('let c = 0; function f() { return c++; }'),
      req('function f() { return [typeof globalThis, typeof Math.random, typeof process]; }'),
      req('function f(x) { return x; }', '1); (2'),
    ].join('\n');
    const { code, stdout } = await azr(['exec', '--no-validate', '-q'], input);
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      { ok: true, output: '0' },
      { ok: true, output: '["object", "undefined", "undefined"]' },
      { ok: false, error: { kind: 'bad_input', message: expect.any(String) } },
    ]);
  });

  it('streams thousands of lines from a file in order through a small window (fresh isolation)', async () => {
    const file = join(dir, 'many.jsonl');
    const n = 3000;
    writeFileSync(file, Array.from({ length: n }, (_, i) => req(`function f(x) { return x + ${i}; }`, '1')).join('\n'));
    const { code, stdout } = await azr(['exec', '-q', '--window', '16', '--isolation', 'fresh', file]);
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out).toHaveLength(n);
    out.forEach((o, i) => expect(o).toEqual({ ok: true, output: String(1 + i) }));
  });

  it('stops and exits with 3 when its output is closed early', async () => {
    const file = join(dir, 'long.jsonl');
    writeFileSync(file, Array.from({ length: 5000 }, (_, i) => req(`function f() { return ${i}; }`)).join('\n'));
    const run = spawnAzr(['exec', '-q', file]);
    run.child.stdout!.once('data', () => run.child.stdout!.destroy());
    expect(await run.exit).toBe(3);
  });

  it('exits with 2 on a usage error (through the bin, for an unknown flag)', async () => {
    const { code, stdout, stderr } = await azr(['exec', '--bogus']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/unknown option '--bogus'/);
    // the error and where the help is: one line, not the whole help
    expect(stderr.trim().split('\n')).toEqual(["error: unknown option '--bogus'", "see 'azr exec --help'"]);
  });

  // The other usage errors go through the same entry point in this process (a process start costs seconds here).
  it.each([
    ['an unreadable file', ['exec', join(dir, 'missing.jsonl')], /cannot read/],
    ['a directory', ['exec', dir], /cannot read/],
    ['a bad number', ['exec', '--workers', '0'], /positive integer/],
    ['a stack above 256 KiB', ['exec', '--stack', '1024'], /stackBytes must be at most/],
    ['an unknown isolation mode', ['exec', '--isolation', 'none'], /hardened' or 'fresh/],
    ['a command named like an Object.prototype member', ['toString'], /unknown command 'toString'/],
    ['a number with trailing text', ['exec', '--workers', '2x'], /positive integer/],
    ['an empty number (not 0)', ['run', '--seed', ''], /--seed must be a non-negative integer/],
    ['an empty port (not 0: any free port)', ['run', '--port', ''], /--port must be an integer from 0 to 65535/],
  ])('returns 2 on a usage error: %s', async (_name, args, message) => {
    const { main } = await import('../../src/cli/index.js');
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      expect(await main(['node', 'azr', ...(args as string[])])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(stderr).toMatch(message as RegExp);
  });
});
