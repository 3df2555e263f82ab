import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { GradientWorkers } from '../../src/gpu/gradientWorkers.js';
import { Learner, type PolicySample, type SupervisedSample } from '../../src/gpu/learner.js';
import { Gpt, type GptConfig } from '../../src/gpu/model.js';
import { sample } from '../../src/gpu/sampler.js';
import { HashConstraint } from './toy.js';

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
    await expect(l.supervisedStepParallel(batch, threads)).rejects.toThrow(
      /gradient thread 0: .*outside the vocabulary/s,
    );
    // the threads still work afterwards
    await expect(l.supervisedStepParallel(batchOf(new Rng(3), 6), threads)).resolves.toMatchObject({ step: 1 });
    l.dispose();
    m.dispose();
  }, 60_000);
});

/**
 * `n` constrained completions of prompts of 1–10 tokens (mixed lengths, as a self-play step's six groups), with
 * their rollout log-probs and allowed-set masks, and advantages of both signs.
 */
async function policyBatchOf(model: Gpt, rng: Rng, n: number): Promise<PolicySample[]> {
  const prompts = Array.from({ length: n }, () => Array.from({ length: 1 + rng.int(10) }, () => 1 + rng.int(19)));
  const out = await sample(
    model,
    prompts.map((prompt, i) => ({
      prompt,
      constraint: new HashConstraint(config.vocabSize, rng.int(1000) + i, 2 + rng.int(11)),
    })),
    { rng: rng.split('sample'), maxNewTokens: 12 },
  );
  return out.map((c, i) => ({ prompt: prompts[i]!, ...c, advantage: rng.next() * 2 - 1 }));
}

describe('data-parallel policy steps (gradient threads)', () => {
  it('take the same steps as one thread — PPO clip, KL to the reference, entropy, SFT, masks, mixed lengths — up to float rounding', async () => {
    // Arrange: two learners on the same weights, both anchored to the same frozen reference; workers that hold it too.
    const base = Gpt.init(config, new Rng(8));
    const reference = new Gpt(config, base.readWeights(), { trainable: false, name: 'reference' });
    const withReference = await GradientWorkers.start(config, 'wasm', 2, { reference: base.readWeights() });
    const one = new Gpt(config, base.readWeights());
    const three = new Gpt(config, base.readWeights());
    const settings = { lr: 3e-3, ppoClip: 0.2, ppoEpochs: 2, klCoef: 0.1, entropyCoef: 0.01, sftCoef: 0.5 };
    const a = new Learner(one, settings, { reference });
    const b = new Learner(three, settings, { reference });
    const data = new Rng(9);
    try {
      for (let step = 0; step < 3; step++) {
        const batch = await policyBatchOf(one, data.split(`batch${step}`), 13);
        const sft = batchOf(data, 5);
        // Act
        const ma = a.policyStep(batch, sft);
        const mb = await b.policyStepParallel(batch, sft, withReference);
        // Assert: the same metrics, epoch by epoch
        expect(mb.perEpoch).toHaveLength(2);
        mb.perEpoch.forEach((e, i) => {
          const o = ma.perEpoch[i]!;
          expect(Math.abs(e.loss - o.loss)).toBeLessThan(1e-5);
          expect(Math.abs(e.gradNorm - o.gradNorm)).toBeLessThan(1e-4);
          expect(Math.abs(e.entropy - o.entropy)).toBeLessThan(1e-5);
          expect(Math.abs(e.klReference! - o.klReference!)).toBeLessThan(1e-6);
          expect(Math.abs(e.sftLoss! - o.sftLoss!)).toBeLessThan(1e-5);
          expect(e.clipFraction).toBeCloseTo(o.clipFraction!, 6);
        });
        expect(mb.tokens).toBe(ma.tokens);
        expect(mb.step).toBe(2 * (step + 1));
      }
      expect(maxDiff(one, three)).toBeLessThan(ROUNDING);
      // the policy moved away from the reference, so the KL term was live
      expect(a.policyStep(await policyBatchOf(one, data.split('last'), 6)).klReference).toBeGreaterThan(0);
    } finally {
      await withReference.close();
      for (const m of [base, reference, one, three]) m.dispose();
      a.dispose();
      b.dispose();
    }
  }, 60_000);

  it('refuse a KL-anchored step when the threads do not hold the reference', async () => {
    const model = Gpt.init(config, new Rng(10));
    const reference = new Gpt(config, model.readWeights(), { trainable: false, name: 'reference' });
    const l = new Learner(model, { lr: 1e-3, klCoef: 0.1 }, { reference });
    const batch = await policyBatchOf(model, new Rng(11), 4);
    await expect(l.policyStepParallel(batch, undefined, threads)).rejects.toThrow(/reference/);
    model.dispose();
    reference.dispose();
    l.dispose();
  });
});
