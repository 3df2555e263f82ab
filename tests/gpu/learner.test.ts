import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { AdamW, clipByGlobalNorm } from '../../src/gpu/adamw.js';
import { initBackend } from '../../src/gpu/backend.js';
import { Learner, scoreCompletions, type PolicySample } from '../../src/gpu/learner.js';
import { Gpt, type GptConfig, type ParamSpec } from '../../src/gpu/model.js';
import { sample } from '../../src/gpu/sampler.js';
import { BOS, END, FIRST_VALUE, SEP, valueThenEnd } from './toy.js';

const VALUES = 8;
const config: GptConfig = { vocabSize: FIRST_VALUE + VALUES, contextLength: 8, layers: 1, width: 32, heads: 2 };

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** One round of the copy task: prompt `BOS x SEP`, constrained answer `v END`, reward 1 when v = x. */
async function copyRound(model: Gpt, data: Rng, sampling: Rng, batch = 64) {
  const xs = Array.from({ length: batch }, () => FIRST_VALUE + data.int(VALUES));
  const prompts = xs.map((x) => [BOS, x, SEP]);
  const completions = await sample(
    model,
    prompts.map((prompt) => ({ prompt, constraint: valueThenEnd(VALUES) })),
    { rng: sampling, maxNewTokens: 4 },
  );
  const rewards = completions.map((c, i) => (c.tokens[0] === xs[i] ? 1 : 0));
  const mean = rewards.reduce((a: number, b) => a + b, 0) / batch;
  const samples: PolicySample[] = completions.map((c, i) => ({
    prompt: prompts[i]!,
    ...c,
    advantage: rewards[i]! - mean,
  }));
  return { samples, success: mean };
}

describe('REINFORCE on the copy task', () => {
  it('rises from chance (1/8) to ≥ 0.8 success within 150 steps', async () => {
    const rng = new Rng(2024);
    const model = Gpt.init(config, rng.split('init'));
    const learner = new Learner(model, { lr: 1e-2, weightDecay: 0 });
    const data = rng.split('data');
    const sampling = rng.split('sample');
    const history: number[] = [];
    for (let step = 0; step < 150; step++) {
      const { samples, success } = await copyRound(model, data, sampling);
      history.push(success);
      const recent = history.slice(-5);
      if (recent.length === 5 && recent.reduce((a, b) => a + b, 0) / 5 >= 0.8) break;
      const metrics = learner.policyStep(samples);
      expect(metrics.optimizerSteps).toBe(1);
      expect(Number.isFinite(metrics.loss)).toBe(true);
    }
    const start = history.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const end = history.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(start).toBeLessThan(0.3);
    expect(end).toBeGreaterThanOrEqual(0.8);
    expect(history.length).toBeLessThan(150);
    learner.dispose();
    model.dispose();
  });
});

describe('policyStep', () => {
  it('reports the masked-distribution entropy, ~0 rollout KL on-policy, one optimizer step per call', async () => {
    const model = Gpt.init(config, new Rng(1));
    const learner = new Learner(model, { lr: 1e-3 });
    const { samples } = await copyRound(model, new Rng(2), new Rng(3), 16);
    const m = learner.policyStep(samples);
    // step 0 allows 8 values, step 1 only END: a fresh model is near uniform, so mean entropy ≈ (ln 8 + 0) / 2
    expect(m.entropy).toBeGreaterThan((0.95 * Math.log(8)) / 2);
    expect(m.entropy).toBeLessThanOrEqual(Math.log(8) / 2 + 1e-4);
    expect(m.klRollout).not.toBeNull();
    expect(Math.abs(m.klRollout!)).toBeLessThan(1e-6);
    expect(m.klReference).toBeNull();
    expect(m.sftLoss).toBeNull();
    expect(m.tokens).toBe(32);
    expect(m.step).toBe(1);
    expect(learner.step).toBe(1);
    expect(m.tokensPerSecond).toBeGreaterThan(0);
    learner.dispose();
    model.dispose();
  });

  it('with PPO, takes one optimizer step per epoch and clips tokens whose ratio moved out of [1−ε, 1+ε]', async () => {
    const model = Gpt.init(config, new Rng(1));
    const learner = new Learner(model, { lr: 5e-2, ppoClip: 0.2, ppoEpochs: 3, weightDecay: 0 });
    const { samples } = await copyRound(model, new Rng(2), new Rng(3), 32);
    const m = learner.policyStep(samples.map((s, i) => ({ ...s, advantage: i % 2 === 0 ? 1 : -1 })));
    expect(m.optimizerSteps).toBe(3);
    expect(learner.step).toBe(3);
    expect(m.perEpoch).toHaveLength(3);
    expect(m.perEpoch[0]!.clipFraction).toBe(0); // on-policy: ratio 1
    expect(m.perEpoch[2]!.clipFraction!).toBeGreaterThan(0);
    expect(m.perEpoch[2]!.klRollout!).toBeGreaterThan(m.perEpoch[0]!.klRollout!);
    learner.dispose();
    model.dispose();
  });

  it('gives zero gradient for tokens clipped by PPO (the objective is flat there)', () => {
    const model = Gpt.init(config, new Rng(1));
    const learner = new Learner(model, { lr: 1e-3, ppoClip: 0.2 });
    const [lp] = scoreCompletions(model, [{ prompt: [BOS, 5, SEP], tokens: [5] }]);
    // stored old log-prob far below the current one: ratio ≫ 1 + ε with A > 0 → clipped, no gradient
    const m = learner.policyStep([{ prompt: [BOS, 5, SEP], tokens: [5], advantage: 1, logProbs: [lp![0]! - 2] }]);
    expect(m.clipFraction).toBe(1);
    expect(m.gradNorm).toBe(0);
    learner.dispose();
    model.dispose();
  });

  it('KL to a reference equal to the model is 0 and grows as the model moves', async () => {
    const model = Gpt.init(config, new Rng(1));
    const reference = new Gpt(config, model.readWeights(), { trainable: false });
    const learner = new Learner(model, { lr: 5e-2, klCoef: 0.1, weightDecay: 0 }, { reference });
    const { samples } = await copyRound(model, new Rng(2), new Rng(3), 16);
    const pushed = samples.map((s) => ({ ...s, advantage: s.tokens[0] === FIRST_VALUE ? 1 : -1 }));
    const first = learner.policyStep(pushed);
    expect(first.klReference).toBeCloseTo(0, 6);
    const second = learner.policyStep(pushed);
    expect(second.klReference!).toBeGreaterThan(1e-4);
    learner.dispose();
    reference.dispose();
    model.dispose();
  });

  it('mixes a supervised term in: loss = policy loss + λ·cross-entropy', async () => {
    const model = Gpt.init(config, new Rng(1));
    const learner = new Learner(model, { lr: 1e-3, sftCoef: 0.5 });
    const { samples } = await copyRound(model, new Rng(2), new Rng(3), 8);
    const sft = [{ tokens: [BOS, 5, SEP, 5, END], lossMask: [0, 0, 0, 1, 1] }];
    const ce = learner.supervisedLoss(sft);
    const m = learner.policyStep(samples, sft);
    expect(m.sftLoss).toBeCloseTo(ce, 5);
    expect(m.loss).toBeCloseTo(m.policyLoss + 0.5 * ce, 5);
    learner.dispose();
    model.dispose();
  });

  it("aggregates as a token mean by default and as a mean of sequence means with 'sequence-mean'", () => {
    const batch = [
      { prompt: [BOS, 5, SEP], tokens: [5, END, 6], advantage: 1 },
      { prompt: [BOS, 6], tokens: [7], advantage: -2 },
    ];
    const lps = (() => {
      const m = Gpt.init(config, new Rng(1));
      const out = scoreCompletions(m, batch);
      m.dispose();
      return out;
    })();
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const tokenMean = -(1 * sum(lps[0]!) - 2 * sum(lps[1]!)) / 4;
    const sequenceMean = -((1 * sum(lps[0]!)) / 3 + (-2 * sum(lps[1]!)) / 1) / 2;
    for (const [aggregation, expected] of [
      ['token-mean', tokenMean],
      ['sequence-mean', sequenceMean],
    ] as const) {
      const model = Gpt.init(config, new Rng(1));
      const learner = new Learner(model, { lr: 1e-3, aggregation });
      expect(learner.policyStep(batch).policyLoss).toBeCloseTo(expected, 5);
      learner.dispose();
      model.dispose();
    }
  });

  it('rejects PPO without stored log-probs and several epochs without clipping', () => {
    const model = Gpt.init(config, new Rng(1));
    expect(() => new Learner(model, { lr: 1e-3, ppoEpochs: 2 })).toThrow(/ppoClip/);
    expect(() => new Learner(model, { lr: 1e-3, klCoef: 0.1 })).toThrow(/reference/);
    const learner = new Learner(model, { lr: 1e-3, ppoClip: 0.2 });
    expect(() => learner.policyStep([{ prompt: [BOS], tokens: [5], advantage: 1 }])).toThrow(/log-probs/);
    learner.dispose();
    model.dispose();
  });
});

describe('supervisedStep', () => {
  it('fits a fixed pattern (loss falls by 10×) and only counts loss-masked tokens', () => {
    const model = Gpt.init(config, new Rng(5));
    const learner = new Learner(model, { lr: 1e-2 });
    const batch = [{ tokens: [BOS, 4, 5, 6, 7, END], lossMask: [0, 0, 1, 1, 1, 1] }, { tokens: [BOS, 8, 9, END] }];
    const first = learner.supervisedStep(batch);
    expect(first.tokens).toBe(4 + 3);
    let last = first;
    for (let i = 0; i < 60; i++) last = learner.supervisedStep(batch);
    expect(last.loss).toBeLessThan(first.loss / 10);
    expect(last.step).toBe(61);
    learner.dispose();
    model.dispose();
  });
});

describe('AdamW', () => {
  it('matches a scalar reference implementation, with decoupled decay only where the spec says', () => {
    const specs: ParamSpec[] = [
      { name: 'w', shape: [2], init: 'normal', decay: true },
      { name: 'b', shape: [2], init: 'zeros', decay: false },
    ];
    const w = tf.variable(tf.tensor1d([0.5, -1]));
    const b = tf.variable(tf.tensor1d([0.25, 2]));
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5 };
    const opt = new AdamW(
      [
        { spec: specs[0]!, variable: w },
        { spec: specs[1]!, variable: b },
      ],
      cfg,
    );
    const grads = [
      [
        [0.3, -0.2],
        [1, 0.5],
      ],
      [
        [-0.1, 0.4],
        [0.2, -0.3],
      ],
    ];
    // reference
    const ref = {
      p: [
        [0.5, -1],
        [0.25, 2],
      ],
      m: [
        [0, 0],
        [0, 0],
      ],
      v: [
        [0, 0],
        [0, 0],
      ],
    };
    grads.forEach((step, t) => {
      opt.apply(step.map((g) => Float32Array.from(g)));
      step.forEach((g, i) =>
        g.forEach((gj, j) => {
          const m = (ref.m[i]![j] = 0.9 * ref.m[i]![j]! + 0.1 * gj);
          const v = (ref.v[i]![j] = 0.99 * ref.v[i]![j]! + 0.01 * gj * gj);
          const p = ref.p[i]![j]!;
          const update = m / (1 - 0.9 ** (t + 1)) / (Math.sqrt(v / (1 - 0.99 ** (t + 1))) + 1e-8);
          ref.p[i]![j] = p - 0.1 * update - (i === 0 ? 0.1 * 0.5 * p : 0);
        }),
      );
    });
    Array.from(w.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(ref.p[0]![j]!, 6));
    Array.from(b.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(ref.p[1]![j]!, 6));
    expect(opt.step).toBe(2);
    opt.dispose();
  });

  it('clips by the global norm: the factor that scales the gradients to it, applied inside the step', () => {
    const grads = [Float32Array.from([3, 0]), Float32Array.from([0, 4])];
    const { scale, norm } = clipByGlobalNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect(scale).toBeCloseTo(0.2, 5);
    expect(clipByGlobalNorm(grads, 10).scale).toBe(1);
    // a step with the factor equals a step on the scaled gradients
    const spec: ParamSpec = { name: 'w', shape: [2], init: 'normal', decay: false };
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 };
    const [a, b] = [tf.variable(tf.tensor1d([1, 2])), tf.variable(tf.tensor1d([1, 2]))];
    new AdamW([{ spec, variable: a }], cfg).apply([Float32Array.from([3, 4])], 0.2);
    new AdamW([{ spec, variable: b }], cfg).apply([Float32Array.from([0.6, 0.8])]);
    Array.from(a.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(b.dataSync()[j]!, 6));
  });
});

describe('memory', () => {
  it('holds the tensor count flat across many sampler and learner steps', async () => {
    const model = Gpt.init(config, new Rng(1));
    const reference = new Gpt(config, model.readWeights(), { trainable: false });
    const learner = new Learner(
      model,
      { lr: 1e-3, ppoClip: 0.2, ppoEpochs: 2, entropyCoef: 0.01, klCoef: 0.05, sftCoef: 0.1 },
      { reference },
    );
    const data = new Rng(2);
    const sampling = new Rng(3);
    const sft = [{ tokens: [BOS, 5, SEP, 5, END] }];
    const round = async () => {
      const { samples } = await copyRound(model, data, sampling, 8);
      learner.policyStep(samples, sft);
      learner.supervisedStep(sft);
    };
    await round();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await round();
    expect(tf.memory().numTensors).toBe(before);
    learner.dispose();
    reference.dispose();
    model.dispose();
  });
});
