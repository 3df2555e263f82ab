// What a base model is keyed by, and which probe programs a run keeps out of its training data.
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { baseModelKey } from '../../src/pretrain/baseModelCache.js';
import { pretrainDataOptions, ProbeExclusion } from '../../src/pretrain/pretrainData.js';
import { scenarioProbeTasks } from '../../src/run/runInputs.js';
import { parseRunScenarioText } from '../../src/config/load.js';

const scenario = (yaml: string) => parseRunScenarioText(yaml, 'test.yaml');

describe('probe exclusion of a run', () => {
  it('covers the whole probe set when the run evaluates only every stride-th task', async () => {
    // Arrange
    const s = scenario('probe: { stride: 12 }\n');
    // Act
    const { all, evaluated, exclusion } = await scenarioProbeTasks(s);
    const data = pretrainDataOptions(s.pretrain, 256, exclusion, { batchSize: 8, prefetch: 1 });
    // Assert: the sample is 1/12 of the set, and a program only in the unsampled part is still excluded
    expect(evaluated.length).toBe(Math.ceil(all.length / 12));
    const unsampled = all.find((t) => !evaluated.some((e) => e.task.program === t.task.program))!;
    expect(data.exclusion!.excludes(unsampled.task.program)).toBe(true);
    expect(data).toMatchObject({
      batchSize: 8,
      prefetch: 1,
      queries: s.pretrain.queries,
      references: s.pretrain.references,
    });
  });

  it('keys a continued build (pretrain.init) by the hash of the base it starts from', async () => {
    const { all } = await scenarioProbeTasks(scenario(''));
    const exclusion = new ProbeExclusion(all);
    const dir = await mkdtemp(path.join(tmpdir(), 'azr-init-key-'));
    try {
      await writeFile(path.join(dir, 'checkpoint.json'), '{}');
      await writeFile(path.join(dir, 'weights.f32'), Buffer.from([1, 2, 3, 4]));
      const s = scenario(`pretrain: { init: ${JSON.stringify(dir)} }\n`);
      const key = baseModelKey(s, exclusion);
      expect(baseModelKey(s, exclusion)).toBe(key);
      expect(baseModelKey(scenario(''), exclusion)).not.toBe(key);
      await writeFile(path.join(dir, 'weights.f32'), Buffer.from([1, 2, 3, 5])); // the same path, other weights
      expect(baseModelKey(s, exclusion)).not.toBe(key);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is part of the base model cache key', async () => {
    const s = scenario('seed: 3\n');
    const { all, evaluated } = await scenarioProbeTasks(scenario('probe: { stride: 12 }\n'));
    const whole = baseModelKey(s, new ProbeExclusion(all));
    expect(baseModelKey(s, new ProbeExclusion(all))).toBe(whole);
    expect(baseModelKey(s, new ProbeExclusion(evaluated))).not.toBe(whole);
    expect(baseModelKey(scenario('seed: 4\n'), new ProbeExclusion(all))).not.toBe(whole);
  });
});
