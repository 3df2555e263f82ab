// `extends:` chains and their merge rules with `--set`: deep merge, relative paths, cycles, and errors located in the right file.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deepMerge,
  loadPretrainScenario,
  loadRunScenario,
  parseOverride,
  ScenarioLoadError,
} from '../../src/config/load.js';
import { ScenarioError } from '../../src/config/pretrainConfig.js';

const dir = mkdtempSync(path.join(tmpdir(), 'azr-extends-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes files under the temp dir; returns the path of the first. */
function files(entries: Record<string, string>): string {
  for (const [name, text] of Object.entries(entries)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return path.join(dir, Object.keys(entries)[0]!);
}

async function loadError(file: string, set: string[] = []): Promise<ScenarioLoadError> {
  try {
    await loadRunScenario(file, set.map(parseOverride));
  } catch (e) {
    if (e instanceof ScenarioLoadError) return e;
    throw e;
  }
  throw new Error('the scenario was accepted');
}

describe('deepMerge', () => {
  it('merges mappings key by key and replaces lists, scalars and null whole', () => {
    const base = { a: { b: 1, c: [1, 2], d: { e: 1 } }, f: 2, g: 3 };
    const merged = deepMerge(base, { a: { c: [3], d: null }, f: { x: 1 } });
    expect(merged).toEqual({ a: { b: 1, c: [3], d: null }, f: { x: 1 }, g: 3 });
    expect(base.a.c).toEqual([1, 2]); // the inputs are not changed
  });
});

describe('extends', () => {
  it('deep-merges the extending file over the extended one, the path relative to the extending file', async () => {
    const file = files({
      'sub/child.yaml':
        'extends: ../base.yaml\nname: child\nselfPlay: { steps: 7, batch: { solve: 3 } }\nlearner: { ppoClip: null }\n',
      'base.yaml': 'name: base\nseed: 5\nselfPlay: { steps: 2, references: 3, batch: { propose: 5, solve: 6 } }\n',
    });
    const s = await loadRunScenario(file);
    expect(s.name).toBe('child');
    expect(s.seed).toBe(5);
    expect(s.selfPlay.steps).toBe(7);
    expect(s.selfPlay.references).toBe(3);
    expect(s.selfPlay.batch).toEqual({ propose: 5, solve: 3 });
    expect(s.learner.ppoClip).toBeNull(); // null replaces: a way to set a nullable field
  });

  it('follows chains, nearest file winning, and --set applies after the whole chain', async () => {
    const file = files({
      'c.yaml': 'extends: b.yaml\nselfPlay: { steps: 3 }\n',
      'b.yaml': 'extends: a.yaml\nselfPlay: { steps: 2, references: 2 }\n',
      'a.yaml': 'seed: 9\nselfPlay: { steps: 1, references: 1, seedSize: 5 }\n',
    });
    const s = await loadRunScenario(file, [parseOverride('selfPlay.references=4')]);
    expect([s.seed, s.selfPlay.steps, s.selfPlay.references, s.selfPlay.seedSize]).toEqual([9, 3, 4, 5]);
  });

  it('reports a cycle with the chain', async () => {
    const file = files({ 'x.yaml': 'extends: y.yaml\n', 'y.yaml': 'seed: 2\nextends: x.yaml\n' });
    const e = await loadError(file);
    expect(e.message).toMatch(/y\.yaml:2:10: extends: a cycle: .*x\.yaml → .*y\.yaml → .*x\.yaml/);
  });

  it('reports a missing extended file at the extends line', async () => {
    const file = files({ 'm.yaml': 'seed: 1\nextends: nowhere.yaml\n' });
    expect((await loadError(file)).message).toMatch(/m\.yaml:2:10: extends: cannot read scenario .*nowhere\.yaml/);
  });

  it('locates an error in the file that set the field, even through the chain', async () => {
    const file = files({
      'p.yaml': 'extends: q.yaml\nselfPlay: { steps: 3 }\n',
      'q.yaml': '# base\nselfPlay:\n  references: -1\n  stepz: 1\n',
    });
    const e = await loadError(file);
    expect([...e.paths].sort()).toEqual(['selfPlay.references', 'selfPlay.stepz']);
    expect(e.message).toMatch(/q\.yaml:3:15: selfPlay\.references: /);
    expect(e.message).toContain("q.yaml:4:3: selfPlay.stepz: unknown field (did you mean 'steps'?)");
  });

  it('blames the extending file when it overrides the bad value, and --set when that sets it', async () => {
    const file = files({ 'r.yaml': 'extends: s.yaml\nselfPlay:\n  steps: -1\n', 's.yaml': 'selfPlay: { steps: 3 }\n' });
    expect((await loadError(file)).message).toMatch(/r\.yaml:3:10: selfPlay\.steps: /);
    expect((await loadError(file, ['selfPlay.steps=-2'])).message).toContain('--set selfPlay.steps: ');
  });

  it('rejects an extends that is not a file name, and a YAML error in an extended file names that file', async () => {
    expect((await loadError(files({ 'e.yaml': 'extends: [a, b]\n' }))).message).toContain(
      'e.yaml:1:10: extends: expected the path of a scenario file',
    );
    const e = await loadError(files({ 'f.yaml': 'extends: g.yaml\n', 'g.yaml': 'selfPlay: [1, 2\n' }));
    expect(e.message).toMatch(/g\.yaml is not valid YAML:\n {2}\S*g\.yaml:\d+:\d+: /);
  });

  it('is followed by azr pretrain too (loadPretrainScenario), whose read errors are ScenarioErrors', async () => {
    const file = files({
      'pt/child.yaml': 'extends: base.yaml\npretrain: { steps: 40 }\n',
      'pt/base.yaml': 'seed: 4\nmodel: { width: 32 }\npretrain: { steps: 10, batchSize: 8 }\n',
    });
    const s = await loadPretrainScenario(file);
    expect([s.seed, s.model.width, s.pretrain.steps, s.pretrain.batchSize]).toEqual([4, 32, 40, 8]);
    const missing = files({ 'pt/lost.yaml': 'extends: nowhere.yaml\n' });
    await expect(loadPretrainScenario(missing)).rejects.toThrow(ScenarioError);
    await expect(loadPretrainScenario(missing)).rejects.toThrow(/lost\.yaml:1:10: extends: cannot read scenario/);
  });
});
