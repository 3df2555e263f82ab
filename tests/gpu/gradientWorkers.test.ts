import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { GradientWorkers } from '../../src/gpu/gradientWorkers.js';
import { Learner, type SupervisedSample } from '../../src/gpu/learner.js';
import { Gpt, type GptConfig } from '../../src/gpu/model.js';

const config: GptConfig = { vocabSize: 20, contextLength: 24, layers: 2, width: 32, heads: 4, positions: 'rope' };
let threads: GradientWorkers;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  threads = await GradientWorkers.start(config, 'wasm', 2);
}, 60_000);
afterAll(async () => {
  await threads.close();
});

/** `n` sequences of varied lengths with loss on their second half. */
function batchOf(rng: Rng, n: number): SupervisedSample[] {
  return Array.from({ length: n }, () => {
    const L = 4 + rng.int(18);
    const tokens = Array.from({ length: L }, () => 1 + rng.int(19));
    return { tokens, lossMask: tokens.map((_, j) => (j >= L / 2 ? 1 : 0)) };
  });
}

// Adam divides by √v, so float-rounding differences in near-zero gradients reach ~1% of lr (3e-3) in a weight
const ROUNDING = 1e-4;

function maxDiff(a: Gpt, b: Gpt): number {
  const wa = a.readWeights();
  const wb = b.readWeights();
  let m = 0;
  wa.forEach((w, i) => w.data.forEach((x, j) => (m = Math.max(m, Math.abs(x - wb[i]!.data[j]!)))));
  return m;
}

describe('data-parallel supervised steps (gradient threads)', () => {
  it('take the same steps as one thread on the whole batch, up to float rounding', async () => {
    const one = Gpt.init(config, new Rng(5));
    const three = Gpt.init(config, new Rng(5));
    const a = new Learner(one, { lr: 3e-3 });
    const b = new Learner(three, { lr: 3e-3 });
    const data = new Rng(6);
    for (let step = 0; step < 5; step++) {
      const batch = batchOf(data, 11);
      const ma = a.supervisedStep(batch);
      const mb = await b.supervisedStepParallel(batch, threads);
      expect(Math.abs(ma.loss - mb.loss)).toBeLessThan(1e-5);
      expect(Math.abs(ma.gradNorm - mb.gradNorm)).toBeLessThan(1e-4);
      expect(mb.tokens).toBe(ma.tokens);
      expect(mb.step).toBe(step + 1);
    }
    expect(maxDiff(one, three)).toBeLessThan(ROUNDING);
    // and they did train: the weights moved
    const fresh = Gpt.init(config, new Rng(5));
    expect(maxDiff(fresh, three)).toBeGreaterThan(1e-3);
    for (const m of [one, three, fresh]) m.dispose();
    a.dispose();
    b.dispose();
  }, 60_000);

  it('are deterministic, and a batch smaller than the threads uses fewer shards', async () => {
    const run = async (n: number) => {
      const m = Gpt.init(config, new Rng(9));
      const l = new Learner(m, { lr: 3e-3 });
      const data = new Rng(10);
      for (let s = 0; s < 3; s++) await l.supervisedStepParallel(batchOf(data, n), threads);
      const w = m.readWeights();
      l.dispose();
      m.dispose();
      return w;
    };
    const x = await run(7);
    const y = await run(7);
    expect(x.map((w) => Array.from(w.data))).toEqual(y.map((w) => Array.from(w.data)));
    // 2 sequences, 3 threads: two shards; 1 sequence: the calling thread alone
    for (const n of [1, 2]) {
      const alone = Gpt.init(config, new Rng(9));
      const split = Gpt.init(config, new Rng(9));
      const la = new Learner(alone, { lr: 3e-3 });
      const lb = new Learner(split, { lr: 3e-3 });
      const batch = batchOf(new Rng(11), n);
      la.supervisedStep(batch);
      await lb.supervisedStepParallel(batch, threads);
      expect(maxDiff(alone, split)).toBeLessThan(ROUNDING);
      la.dispose();
      lb.dispose();
      alone.dispose();
      split.dispose();
    }
  }, 60_000);

  it("report a worker's failure as the step's error", async () => {
    const m = Gpt.init(config, new Rng(1));
    const l = new Learner(m, { lr: 1e-3 });
    const batch = batchOf(new Rng(2), 6);
    // a token outside the vocabulary in the second shard (row 1): the worker refuses it
    batch[1] = { tokens: [1, 2, 99, 3] };
    await expect(l.supervisedStepParallel(batch, threads)).rejects.toThrow(/gradient thread 0: .*outside the vocabulary/s);
    // the threads still work afterwards
    await expect(l.supervisedStepParallel(batchOf(new Rng(3), 6), threads)).resolves.toMatchObject({ step: 1 });
    l.dispose();
    m.dispose();
  }, 60_000);
});
