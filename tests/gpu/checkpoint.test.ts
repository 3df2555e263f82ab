import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/gpu/checkpoint.js';
import { Learner, type LearnerConfigInput } from '../../src/gpu/learner.js';
import { Gpt, initWeights, type GptConfig, type Weights } from '../../src/gpu/model.js';
import { sample } from '../../src/gpu/sampler.js';
import { BOS, END, FIRST_VALUE, SEP, valueThenEnd } from './toy.js';

const config: GptConfig = { vocabSize: FIRST_VALUE + 8, contextLength: 8, layers: 1, width: 16, heads: 2 };
const learnerConfig: LearnerConfigInput = { lr: 1e-2, ppoClip: 0.2, ppoEpochs: 2, entropyCoef: 0.01, sftCoef: 0.2 };
let dir: string;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'azr-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  model: Gpt;
  learner: Learner;
  data: Rng;
  sampling: Rng;
}

/** One training step of a small copy-task loop; all randomness from the run's two streams. */
async function trainStep(run: Run): Promise<void> {
  const xs = Array.from({ length: 16 }, () => FIRST_VALUE + run.data.int(8));
  const prompts = xs.map((x) => [BOS, x, SEP]);
  const out = await sample(
    run.model,
    prompts.map((prompt) => ({ prompt, constraint: valueThenEnd(8) })),
    { rng: run.sampling, maxNewTokens: 3 },
  );
  const rewards = out.map((c, i) => (c.tokens[0] === xs[i] ? 1 : 0));
  const mean = rewards.reduce((a: number, b) => a + b, 0) / rewards.length;
  const sft = [{ tokens: [BOS, xs[0]!, SEP, xs[0]!, END] }];
  run.learner.policyStep(
    out.map((c, i) => ({ prompt: prompts[i]!, ...c, advantage: rewards[i]! - mean })),
    sft,
  );
}

function freshRun(seed: number): Run {
  const rng = new Rng(seed);
  const model = Gpt.init(config, rng.split('init'));
  return {
    model,
    learner: new Learner(model, learnerConfig),
    data: rng.split('data'),
    sampling: rng.split('sampling'),
  };
}

function bits(weights: Weights): number[][] {
  return weights.map((w) => Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)));
}

describe('checkpoints', () => {
  it('resumed training equals uninterrupted training bit for bit (weights and optimizer state)', async () => {
    const straight = freshRun(77);
    for (let i = 0; i < 6; i++) await trainStep(straight);

    const first = freshRun(77);
    for (let i = 0; i < 3; i++) await trainStep(first);
    const snap = first.learner.snapshot();
    await saveCheckpoint(dir, {
      config,
      weights: snap.weights,
      optimizer: snap.optimizer,
      step: first.learner.step,
      rng: { data: first.data.state(), sampling: first.sampling.state() },
      extra: { note: 'mid-run' },
    });
    first.learner.dispose();
    first.model.dispose();

    const loaded = await loadCheckpoint(dir);
    expect(loaded.step).toBe(6); // 3 calls × 2 PPO epochs
    expect(loaded.extra).toEqual({ note: 'mid-run' });
    const model = Gpt.init(loaded.config, new Rng(12345)); // different init, overwritten by restore
    const learner = new Learner(model, learnerConfig);
    learner.restore({ weights: loaded.weights, optimizer: loaded.optimizer! });
    const resumed: Run = {
      model,
      learner,
      data: new Rng(loaded.rng['data']!),
      sampling: new Rng(loaded.rng['sampling']!),
    };
    for (let i = 0; i < 3; i++) await trainStep(resumed);

    expect(learner.step).toBe(straight.learner.step);
    expect(bits(model.readWeights())).toEqual(bits(straight.model.readWeights()));
    const a = learner.optimizer.state();
    const b = straight.learner.optimizer.state();
    expect(bits(a.m)).toEqual(bits(b.m));
    expect(bits(a.v)).toEqual(bits(b.v));
    for (const r of [straight, resumed]) {
      r.learner.dispose();
      r.model.dispose();
    }
  });

  it('round-trips weights-only checkpoints and lists its files', async () => {
    const sub = path.join(dir, 'base');
    const weights = initWeights(config, new Rng(3));
    await saveCheckpoint(sub, { config, weights, optimizer: null, step: 0, rng: {} });
    expect((await readdir(sub)).sort()).toEqual(['checkpoint.json', 'weights.f32']);
    const loaded = await loadCheckpoint(sub);
    expect(loaded.optimizer).toBeNull();
    expect(bits(loaded.weights)).toEqual(bits(weights));
    expect(loaded.weights.map((w) => w.name)).toEqual(weights.map((w) => w.name));
  });

  it('says precisely what is wrong with a broken checkpoint', async () => {
    const sub = path.join(dir, 'broken');
    await saveCheckpoint(sub, { config, weights: initWeights(config, new Rng(3)), optimizer: null, step: 0, rng: {} });
    await writeFile(path.join(sub, 'weights.f32'), Buffer.alloc(12));
    await expect(loadCheckpoint(sub)).rejects.toThrow(/weights\.f32: 12 bytes, expected/);
    await expect(loadCheckpoint(path.join(dir, 'missing'))).rejects.toThrow(/no checkpoint\.json/);
  });
});
