// The learner: policy-gradient steps (REINFORCE or PPO-clip, entropy bonus, KL to a frozen base, mixed-in SFT) and plain SFT steps, with AdamW.
//
// Per completion token t of sequence i, with π the masked, temperature-scaled policy the sampler drew from (sampler.ts):
//   REINFORCE   ℓ = −Aᵢ · log π(aₜ)
//   PPO-clip    ℓ = −min(ρ·Aᵢ, clip(ρ, 1−ε, 1+ε)·Aᵢ),   ρ = π(aₜ) / π_old(aₜ)  (π_old: the rollout's stored log-probs)
//   entropy     ℓ −= c_H · H(π(·|prefix))
//   KL anchor   ℓ += β · KL(π ‖ π_ref)(·|prefix), exact over the (masked) vocabulary, π_ref = the frozen base model
// aggregated over tokens ('token-mean': Σℓ / #tokens, veRL's default; or 'sequence-mean': mean over sequences of each
// sequence's token mean), plus λ · (next-token cross-entropy on a supervised batch) when one is mixed in.
// Then: gradients, global-norm clip at 1.0, one AdamW step. With PPO epochs = k the batch is re-scored and stepped k
// times (k optimizer steps per call, the batch as one minibatch); otherwise exactly one step per call.

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { AdamW, clipByGlobalNorm, type AdamWState } from './adamw.js';
import { attentionMask, columnPositions, MASKED, PAD_ID } from './layout.js';
import type { Gpt, Weights } from './model.js';
import { oneHot } from './ops.js';
import type { WeightBoard } from './weights.js';

/** Worker threads that compute supervised shard gradients (gradientWorkers.ts implements it). */
export interface GradientThreads {
  /** Workers (the calling thread computes one more shard). */
  readonly size: number;
  /** Each worker's shard gradient, in shard order, computed on `weights`. */
  gradients(weights: Weights, shards: readonly (readonly SupervisedSample[])[], normalizer: number): Promise<SupervisedShardResult[]>;
}

// -----------------------------------------------------------------------------------------------------------
// Config

export const LearnerConfigSchema = z.object({
  lr: z.number().positive().describe('AdamW learning rate (constant; change it between steps with setLearningRate)'),
  beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW β1'),
  beta2: z.number().min(0).lt(1).default(0.95).describe('AdamW β2 (nanoGPT: 0.95)'),
  eps: z.number().positive().default(1e-8).describe('AdamW ε'),
  weightDecay: z.number().min(0).default(0.1).describe('decoupled weight decay on matrices (nanoGPT: 0.1); gains and biases are not decayed'),
  maxGradNorm: z.number().positive().default(1.0).describe('global gradient-norm clip (the paper: 1.0)'),
  temperature: z.number().positive().default(1.0).describe('temperature of the policy being trained; must equal the sampling temperature'),
  ppoClip: z.number().positive().nullable().default(null).describe('PPO clip ε (e.g. 0.2); null = plain REINFORCE on −A·log π'),
  ppoEpochs: z.number().int().min(1).default(1).describe('passes over each batch, one optimizer step each (needs ppoClip when > 1)'),
  entropyCoef: z.number().min(0).default(0).describe('entropy bonus c_H'),
  klCoef: z.number().min(0).default(0).describe('β of the exact KL(π ‖ π_ref) penalty to the frozen reference (the base model); needs a reference'),
  sftCoef: z.number().min(0).default(0).describe('λ of the supervised next-token term mixed into policy steps (when a supervised batch is given)'),
  aggregation: z.enum(['token-mean', 'sequence-mean']).default('token-mean').describe("how token losses combine: 'token-mean' (veRL default) or 'sequence-mean'"),
});

export type LearnerConfig = z.infer<typeof LearnerConfigSchema>;
export type LearnerConfigInput = z.input<typeof LearnerConfigSchema>;

// -----------------------------------------------------------------------------------------------------------
// Inputs and metrics

/** A completion to learn from: compose it as `{ prompt, ...completion, advantage }`. */
export interface PolicySample {
  readonly prompt: readonly number[];
  /** Completion tokens. */
  readonly tokens: readonly number[];
  /** Per-sequence advantage (TRR++ from src/azr), applied to every token. */
  readonly advantage: number;
  /** Log-probs the rollout policy gave each token (needed for PPO and for the rollout-KL metric). */
  readonly logProbs?: readonly number[];
  /** `[tokens × vocab]` allowed-set masks from constrained sampling; null/absent = unconstrained. */
  readonly masks?: Uint8Array | null;
}

/** A sequence for next-token training: `lossMask[i] = 1` means token i (i ≥ 1) is predicted; default all. */
export interface SupervisedSample {
  readonly tokens: readonly number[];
  readonly lossMask?: ArrayLike<number>;
}

export interface EpochMetrics {
  /** The total loss minimised. */
  readonly loss: number;
  /** The policy-gradient term alone (aggregated as configured). */
  readonly policyLoss: number;
  /** Mean entropy of π per completion token (nats). */
  readonly entropy: number;
  /** Mean KL(π_rollout ‖ π) per token (k3 estimator on the sampled tokens); null without stored log-probs. */
  readonly klRollout: number | null;
  /** Mean exact KL(π ‖ π_ref) per token; null without a reference model. */
  readonly klReference: number | null;
  /** The supervised cross-entropy (nats/token) when a supervised batch was mixed in, else null. */
  readonly sftLoss: number | null;
  /** Fraction of tokens whose ratio left [1−ε, 1+ε]; null without PPO. */
  readonly clipFraction: number | null;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
}

/** Metrics of one `policyStep`: the first epoch's figures (the policy as the batch found it) plus totals. */
export interface PolicyStepMetrics extends EpochMetrics {
  readonly perEpoch: readonly EpochMetrics[];
  /** Completion tokens in the batch. */
  readonly tokens: number;
  /** Tokens (prompt + completion + supervised, every epoch) processed per second. */
  readonly tokensPerSecond: number;
  readonly seconds: number;
  /** Optimizer steps taken by this call (= epochs). */
  readonly optimizerSteps: number;
  /** The learner's step count after this call (also the weight version it publishes). */
  readonly step: number;
}

export interface SupervisedStepMetrics {
  /** Mean next-token cross-entropy over loss-masked tokens (nats). */
  readonly loss: number;
  readonly gradNorm: number;
  /** Predicted tokens. */
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly seconds: number;
  readonly step: number;
}

/** What a checkpoint needs from the learner. */
export interface LearnerSnapshot {
  readonly weights: Weights;
  readonly optimizer: AdamWState;
}

// -----------------------------------------------------------------------------------------------------------
// Packing batches into arrays (see layout.ts for the padding scheme)

interface PolicyBatch {
  readonly B: number;
  readonly P: number;
  readonly C: number;
  readonly T: number;
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  readonly mask: Float32Array;
  readonly targets: Int32Array;
  /** 1 on real completion tokens. */
  readonly valid: Float32Array;
  /** Aggregation weights: valid / #tokens ('token-mean') or valid / (len · B) ('sequence-mean'). */
  readonly aggWeights: Float32Array;
  readonly advantages: Float32Array;
  readonly oldLogProbs: Float32Array | null;
  readonly logitMask: Float32Array | null;
  readonly inputTokens: number;
  readonly completionTokens: number;
}

function packPolicy(samples: readonly PolicySample[], vocab: number, contextLength: number, aggregation: LearnerConfig['aggregation']): PolicyBatch {
  const rows = samples.filter((s) => s.tokens.length > 0);
  if (rows.length === 0) throw new Error('a policy batch needs at least one completion token');
  const B = rows.length;
  const P = Math.max(...rows.map((s) => s.prompt.length));
  const C = Math.max(...rows.map((s) => s.tokens.length));
  const T = P + C - 1;
  const tokens = new Int32Array(B * T).fill(PAD_ID);
  const pads = new Int32Array(B);
  const targets = new Int32Array(B * C);
  const valid = new Float32Array(B * C);
  const aggWeights = new Float32Array(B * C);
  const advantages = new Float32Array(B);
  const withOld = rows.every((s) => s.logProbs !== undefined);
  const oldLogProbs = withOld ? new Float32Array(B * C) : null;
  const logitMask = rows.some((s) => s.masks !== undefined && s.masks !== null) ? new Float32Array(B * C * vocab) : null;
  const completionTokens = rows.reduce((n, s) => n + s.tokens.length, 0);
  let inputTokens = 0;
  rows.forEach((s, r) => {
    const len = s.tokens.length;
    if (s.prompt.length === 0) throw new Error('a prompt needs at least one token');
    if (s.prompt.length + len - 1 > contextLength) throw new Error(`prompt ${s.prompt.length} + completion ${len} tokens exceed the context of ${contextLength}`);
    if (!Number.isFinite(s.advantage)) throw new Error(`advantage must be finite, got ${s.advantage}`);
    const pad = P - s.prompt.length;
    pads[r] = pad;
    s.prompt.forEach((t, j) => (tokens[r * T + pad + j] = t));
    for (let j = 0; j < len - 1; j++) tokens[r * T + P + j] = s.tokens[j] as number;
    inputTokens += s.prompt.length + len - 1;
    advantages[r] = s.advantage;
    if (s.logProbs !== undefined && s.logProbs.length !== len) throw new Error(`${s.logProbs.length} log-probs for ${len} tokens`);
    if (s.masks !== undefined && s.masks !== null && s.masks.length !== len * vocab) throw new Error(`masks hold ${s.masks.length} entries, expected ${len}×${vocab}`);
    for (let t = 0; t < len; t++) {
      const token = s.tokens[t] as number;
      if (!Number.isInteger(token) || token < 0 || token >= vocab) throw new Error(`token ${token} outside the vocabulary of ${vocab}`);
      const i = r * C + t;
      targets[i] = token;
      valid[i] = 1;
      aggWeights[i] = aggregation === 'token-mean' ? 1 / completionTokens : 1 / (len * B);
      if (oldLogProbs !== null) oldLogProbs[i] = s.logProbs![t] as number;
      if (logitMask !== null && s.masks !== undefined && s.masks !== null) {
        if (s.masks[t * vocab + token] !== 1) throw new Error(`token ${token} at step ${t} was not allowed by its own mask`);
        for (let a = 0; a < vocab; a++) if (s.masks[t * vocab + a] === 0) logitMask[i * vocab + a] = MASKED;
      }
    }
  });
  return {
    B,
    P,
    C,
    T,
    tokens,
    positions: columnPositions(pads, 0, T, contextLength),
    mask: attentionMask(pads, 0, T),
    targets,
    valid,
    aggWeights,
    advantages,
    oldLogProbs,
    logitMask,
    inputTokens,
    completionTokens,
  };
}

interface SupervisedBatch {
  readonly B: number;
  readonly T: number;
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  readonly mask: Float32Array;
  readonly targets: Int32Array;
  /** Loss weights, summing to 1 over predicted tokens. */
  readonly weights: Float32Array;
  readonly predicted: number;
  readonly inputTokens: number;
}

/**
 * Packs supervised sequences; loss weights are 1/`normalizer` per predicted token (default: this batch's predicted
 * count, so the loss is the batch mean). A shard of a larger batch passes the whole batch's count, so the shards'
 * losses and gradients add up to the whole batch's.
 */
function packSupervised(samples: readonly SupervisedSample[], vocab: number, contextLength: number, normalizer?: number): SupervisedBatch {
  if (samples.length === 0) throw new Error('a supervised batch needs at least one sequence');
  const B = samples.length;
  const T = Math.max(...samples.map((s) => s.tokens.length)) - 1;
  if (T < 1) throw new Error('supervised sequences need at least two tokens');
  if (T > contextLength) throw new Error(`a supervised sequence of ${T + 1} tokens exceeds the context of ${contextLength} (+1)`);
  const tokens = new Int32Array(B * T).fill(PAD_ID);
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  let predicted = 0;
  let inputTokens = 0;
  samples.forEach((s, r) => {
    const L = s.tokens.length;
    if (s.lossMask !== undefined && s.lossMask.length !== L) throw new Error(`lossMask has ${s.lossMask.length} entries for ${L} tokens`);
    inputTokens += Math.max(0, L - 1);
    for (let j = 0; j < L; j++) {
      const token = s.tokens[j] as number;
      if (!Number.isInteger(token) || token < 0 || token >= vocab) throw new Error(`token ${token} outside the vocabulary of ${vocab}`);
      if (j < L - 1) tokens[r * T + j] = token;
      if (j >= 1) {
        targets[r * T + j - 1] = token;
        const w = s.lossMask === undefined ? 1 : (s.lossMask[j] as number) !== 0 ? 1 : 0;
        weights[r * T + j - 1] = w;
        predicted += w;
      }
    }
  });
  if (predicted === 0 && normalizer === undefined) throw new Error('the supervised batch predicts no token (empty loss masks)');
  const denominator = normalizer ?? predicted;
  for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] as number) / denominator;
  const pads = new Int32Array(B);
  return { B, T, tokens, positions: columnPositions(pads, 0, T, contextLength), mask: attentionMask(pads, 0, T), targets, weights, predicted, inputTokens };
}

// -----------------------------------------------------------------------------------------------------------
// Differentiable pieces

/** Log-probs `[B, C, V]` of the masked, temperature-scaled policy at each completion position. */
function completionLogProbs(model: Gpt, b: PolicyBatch, temperature: number): tf.Tensor3D {
  const V = model.config.vocabSize;
  const { logits } = model.forward(tf.tensor2d(b.tokens, [b.B, b.T], 'int32'), tf.tensor2d(b.positions, [b.B, b.T], 'int32'), tf.tensor4d(b.mask, [b.B, 1, b.T, b.T]));
  // the logits at column P−1+t predict completion token t
  let z = tf.slice(logits, [0, b.P - 1, 0], [b.B, b.C, V]);
  if (temperature !== 1) z = tf.div(z, temperature);
  if (b.logitMask !== null) z = tf.add(z, tf.tensor3d(b.logitMask, [b.B, b.C, V]));
  return tf.logSoftmax(z, -1);
}

/** Pick `logp[..., target]` with a one-hot product (no gather gradient on wasm). */
function pick(logpAll: tf.Tensor, targets: Int32Array, shape: [number, number], vocab: number): tf.Tensor2D {
  return tf.sum(tf.mul(logpAll, oneHot(tf.tensor2d(targets, shape, 'int32'), vocab)), -1) as tf.Tensor2D;
}

/** Mean next-token cross-entropy of the supervised batch (a scalar). */
function supervisedLoss(model: Gpt, b: SupervisedBatch): tf.Scalar {
  const V = model.config.vocabSize;
  const { logits } = model.forward(tf.tensor2d(b.tokens, [b.B, b.T], 'int32'), tf.tensor2d(b.positions, [b.B, b.T], 'int32'), tf.tensor4d(b.mask, [b.B, 1, b.T, b.T]));
  const logp = pick(tf.logSoftmax(logits, -1), b.targets, [b.B, b.T], V);
  return tf.neg(tf.sum(tf.mul(logp, tf.tensor2d(b.weights, [b.B, b.T])))) as tf.Scalar;
}

/** Tokens a supervised sequence has loss on (what packSupervised counts). */
export function predictedTokens(sample: SupervisedSample): number {
  const L = sample.tokens.length;
  if (sample.lossMask === undefined) return Math.max(0, L - 1);
  let n = 0;
  for (let j = 1; j < L; j++) if ((sample.lossMask[j] as number) !== 0) n++;
  return n;
}

/** One shard's share of a supervised step: the gradient of its part of the batch loss, per parameter in order. */
export interface SupervisedShardResult {
  readonly grads: Float32Array[];
  /** Its part of the batch loss (the shards' parts add up to the batch mean). */
  readonly loss: number;
  readonly inputTokens: number;
}

/**
 * Gradients (tensors the caller disposes) and loss of `samples`' next-token loss with respect to `variables`,
 * weighted 1/`normalizer` per predicted token (default: their own count, so the loss is their mean).
 */
function supervisedGradients(
  model: Gpt,
  samples: readonly SupervisedSample[],
  variables: tf.Variable[],
  normalizer?: number,
): { grads: tf.NamedTensorMap; loss: number; predicted: number; inputTokens: number } {
  const s = packSupervised(samples, model.config.vocabSize, model.config.contextLength, normalizer);
  const { value, grads } = tf.variableGrads(() => supervisedLoss(model, s), variables);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  return { grads, loss, predicted: s.predicted, inputTokens: s.inputTokens };
}

/**
 * Gradients of `samples`' share of a batch's mean next-token loss, the batch having `normalizer` predicted tokens in
 * all (a gradient thread's work; see gradientWorkers.ts). No optimizer step.
 */
export function supervisedShardGradients(model: Gpt, samples: readonly SupervisedSample[], normalizer: number): SupervisedShardResult {
  const variables = model.params.map((p) => p.variable);
  const { grads, loss, inputTokens } = supervisedGradients(model, samples, variables, normalizer);
  const out = variables.map((v) => {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`no gradient for '${v.name}'`);
    return Float32Array.from(g.dataSync() as Float32Array);
  });
  for (const g of Object.values(grads)) g.dispose();
  return { grads: out, loss, inputTokens };
}

/**
 * Log-probs the learner assigns to each completion token (the masked, temperature-scaled policy), without gradients.
 * Equals the sampler's `logProbs` up to float rounding; used to check that, and for offline scoring.
 */
export function scoreCompletions(model: Gpt, samples: readonly Omit<PolicySample, 'advantage'>[], temperature = 1): number[][] {
  const nonEmpty = samples.filter((s) => s.tokens.length > 0);
  if (nonEmpty.length === 0) return samples.map(() => []);
  const b = packPolicy(
    nonEmpty.map((s) => ({ ...s, advantage: 0 })),
    model.config.vocabSize,
    model.config.contextLength,
    'token-mean',
  );
  const values = tf.tidy(() => pick(completionLogProbs(model, b, temperature), b.targets, [b.B, b.C], model.config.vocabSize).dataSync());
  let row = 0;
  return samples.map((s) => {
    if (s.tokens.length === 0) return [];
    const r = row++;
    return Array.from(values.subarray(r * b.C, r * b.C + s.tokens.length));
  });
}

// -----------------------------------------------------------------------------------------------------------
// The learner

export interface LearnerOptions {
  /** Frozen reference policy for the KL anchor (the base model); needed when klCoef > 0. */
  readonly reference?: Gpt;
  /** Clock for the tokens/s metric only (default performance.now). */
  readonly now?: () => number;
}

export class Learner {
  readonly config: LearnerConfig;
  readonly optimizer: AdamW;
  private readonly reference: Gpt | null;
  private readonly now: () => number;

  constructor(
    readonly model: Gpt,
    config: LearnerConfigInput,
    options: LearnerOptions = {},
  ) {
    this.config = LearnerConfigSchema.parse(config);
    if (this.config.ppoEpochs > 1 && this.config.ppoClip === null) throw new Error('ppoEpochs > 1 needs ppoClip (re-using a batch without clipping is not REINFORCE)');
    if (this.config.klCoef > 0 && options.reference === undefined) throw new Error('klCoef > 0 needs a reference model');
    if (options.reference !== undefined && JSON.stringify(options.reference.config) !== JSON.stringify(model.config)) throw new Error('the reference model must have the same config');
    this.reference = options.reference ?? null;
    this.now = options.now ?? (() => performance.now());
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    this.optimizer = new AdamW(model.params, { lr, beta1, beta2, eps, weightDecay });
  }

  /** Optimizer steps so far; the version of the weights it publishes. */
  get step(): number {
    return this.optimizer.step;
  }

  setLearningRate(lr: number): void {
    if (!(lr > 0)) throw new RangeError(`learning rate must be positive, got ${lr}`);
    this.optimizer.config = { ...this.optimizer.config, lr };
  }

  /** Policy-gradient step(s) on `batch`, optionally mixing in `sft` next-token cross-entropy (weight `sftCoef`). */
  policyStep(batch: readonly PolicySample[], sft?: readonly SupervisedSample[]): PolicyStepMetrics {
    const start = this.now();
    const { vocabSize: V, contextLength } = this.model.config;
    const cfg = this.config;
    const b = packPolicy(batch, V, contextLength, cfg.aggregation);
    if (cfg.ppoClip !== null && b.oldLogProbs === null) throw new Error('PPO needs the rollout log-probs of every sample');
    const s = sft !== undefined && sft.length > 0 && cfg.sftCoef > 0 ? packSupervised(sft, V, contextLength) : null;
    const refLogp = this.reference === null || cfg.klCoef === 0 ? null : tf.tidy(() => completionLogProbs(this.reference!, b, cfg.temperature));
    const perEpoch: EpochMetrics[] = [];
    try {
      for (let epoch = 0; epoch < cfg.ppoEpochs; epoch++) perEpoch.push(this.policyEpoch(b, s, refLogp));
    } finally {
      refLogp?.dispose();
    }
    const seconds = (this.now() - start) / 1000;
    const processed = cfg.ppoEpochs * (b.inputTokens + (s?.inputTokens ?? 0));
    return {
      ...(perEpoch[0] as EpochMetrics),
      perEpoch,
      tokens: b.completionTokens,
      tokensPerSecond: seconds > 0 ? processed / seconds : 0,
      seconds,
      optimizerSteps: perEpoch.length,
      step: this.step,
    };
  }

  private policyEpoch(b: PolicyBatch, s: SupervisedBatch | null, refLogp: tf.Tensor3D | null): EpochMetrics {
    const cfg = this.config;
    const V = this.model.config.vocabSize;
    const shape: [number, number] = [b.B, b.C];
    let stats: tf.Tensor1D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const logpAll = completionLogProbs(this.model, b, cfg.temperature);
      const logp = pick(logpAll, b.targets, shape, V);
      const valid = tf.tensor2d(b.valid, shape);
      const aggregate = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(x, tf.tensor2d(b.aggWeights, shape)));
      const tokenMean = (x: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(x, valid)), b.completionTokens);
      const adv = tf.reshape(tf.tensor1d(b.advantages), [b.B, 1]);

      let pg: tf.Tensor;
      let klRollout: tf.Scalar = tf.scalar(NaN);
      let clipFraction: tf.Scalar = tf.scalar(NaN);
      if (b.oldLogProbs !== null) {
        const logRatio = tf.sub(logp, tf.tensor2d(b.oldLogProbs, shape));
        const ratio = tf.exp(logRatio);
        klRollout = tokenMean(tf.sub(tf.sub(ratio, 1), logRatio)); // k3: E_old[ρ − 1 − log ρ]
        if (cfg.ppoClip !== null) {
          const eps = cfg.ppoClip;
          pg = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), adv)));
          clipFraction = tokenMean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), eps), 'float32'));
        } else pg = tf.neg(tf.mul(logp, adv));
      } else pg = tf.neg(tf.mul(logp, adv));

      const probs = tf.exp(logpAll);
      const entropy = tf.neg(tf.sum(tf.mul(probs, logpAll), -1));
      let perToken = pg;
      if (cfg.entropyCoef > 0) perToken = tf.sub(perToken, tf.mul(entropy, cfg.entropyCoef));
      let klReference: tf.Scalar = tf.scalar(NaN);
      if (refLogp !== null) {
        const kl = tf.sum(tf.mul(probs, tf.sub(logpAll, refLogp)), -1);
        klReference = tokenMean(kl);
        perToken = tf.add(perToken, tf.mul(kl, cfg.klCoef));
      }
      const policyLoss = aggregate(pg);
      let loss = aggregate(perToken);
      let sftLoss: tf.Scalar = tf.scalar(NaN);
      if (s !== null) {
        sftLoss = supervisedLoss(this.model, s);
        loss = tf.add(loss, tf.mul(sftLoss, cfg.sftCoef));
      }
      stats = tf.keep(tf.stack([policyLoss, tokenMean(entropy), klRollout, klReference, sftLoss, clipFraction]) as tf.Tensor1D);
      return loss;
    }, this.trainable());
    const gradNorm = this.applyGradients(grads);
    const loss = value.dataSync()[0] as number;
    value.dispose();
    const st = (stats as tf.Tensor1D | null)?.dataSync() ?? new Float32Array(6).fill(NaN);
    (stats as tf.Tensor1D | null)?.dispose();
    const orNull = (x: number | undefined): number | null => (x === undefined || Number.isNaN(x) ? null : x);
    return {
      loss,
      policyLoss: st[0] as number,
      entropy: st[1] as number,
      klRollout: orNull(st[2]),
      klReference: orNull(st[3]),
      sftLoss: orNull(st[4]),
      clipFraction: orNull(st[5]),
      gradNorm,
    };
  }

  /** One next-token cross-entropy step (pretraining the base model). */
  supervisedStep(batch: readonly SupervisedSample[]): SupervisedStepMetrics {
    const start = this.now();
    const local = supervisedGradients(this.model, batch, this.trainable());
    const gradNorm = this.applyGradients(local.grads);
    const seconds = (this.now() - start) / 1000;
    return { loss: local.loss, gradNorm, tokens: local.predicted, tokensPerSecond: seconds > 0 ? local.inputTokens / seconds : 0, seconds, step: this.step };
  }

  /**
   * One next-token cross-entropy step with the batch split across this thread and `threads`' workers (rows dealt
   * round-robin, so every shard gets a similar length mix): each computes its shard's gradient of the batch mean loss
   * on the same weights, the gradients are summed here, then clipped and stepped once. Equals `supervisedStep` on the
   * whole batch up to float rounding, and is deterministic for a fixed number of threads.
   */
  async supervisedStepParallel(batch: readonly SupervisedSample[], threads: GradientThreads): Promise<SupervisedStepMetrics> {
    const start = this.now();
    const K = Math.min(batch.length, threads.size + 1);
    if (K <= 1) return this.supervisedStep(batch);
    const shards = Array.from({ length: K }, (_, k) => batch.filter((_, i) => i % K === k));
    const normalizer = batch.reduce((n, x) => n + predictedTokens(x), 0);
    if (normalizer === 0) throw new Error('the supervised batch predicts no token (empty loss masks)');
    const remote = threads.gradients(this.model.readWeights(), shards.slice(1), normalizer);
    // this thread's shard while the workers do theirs (a synchronous tfjs computation)
    const local = supervisedGradients(this.model, shards[0]!, this.trainable(), normalizer);
    let others: SupervisedShardResult[];
    try {
      others = await remote;
    } catch (e) {
      for (const g of Object.values(local.grads)) g.dispose();
      throw e;
    }
    const summed: tf.NamedTensorMap = {};
    for (const [i, p] of this.model.params.entries()) {
      const g = local.grads[p.variable.name];
      if (g === undefined) throw new Error(`no gradient for '${p.spec.name}'`);
      summed[p.variable.name] = tf.tidy(() => others.reduce((acc: tf.Tensor, r) => tf.add(acc, tf.tensor(r.grads[i]!, g.shape, 'float32')), g));
      g.dispose();
    }
    const gradNorm = this.applyGradients(summed);
    const loss = others.reduce((n, r) => n + r.loss, local.loss);
    const inputTokens = others.reduce((n, r) => n + r.inputTokens, local.inputTokens);
    const seconds = (this.now() - start) / 1000;
    return { loss, gradNorm, tokens: normalizer, tokensPerSecond: seconds > 0 ? inputTokens / seconds : 0, seconds, step: this.step };
  }

  /** Mean next-token cross-entropy of `batch` under the current weights, without training. */
  supervisedLoss(batch: readonly SupervisedSample[]): number {
    const s = packSupervised(batch, this.model.config.vocabSize, this.model.config.contextLength);
    return tf.tidy(() => supervisedLoss(this.model, s).dataSync()[0] as number);
  }

  private trainable(): tf.Variable[] {
    return this.model.params.map((p) => p.variable);
  }

  /** Clip, step, dispose; returns the pre-clip gradient norm. */
  private applyGradients(grads: tf.NamedTensorMap): number {
    const ordered = this.model.params.map((p) => {
      const g = grads[p.variable.name];
      if (g === undefined) throw new Error(`no gradient for '${p.spec.name}'`);
      return g;
    });
    const { clipped, norm } = clipByGlobalNorm(ordered, this.config.maxGradNorm);
    for (const g of ordered) g.dispose();
    if (!Number.isFinite(norm)) {
      for (const g of clipped) g.dispose();
      throw new Error(`non-finite gradient norm (${norm}); the step was skipped`);
    }
    this.optimizer.apply(clipped);
    for (const g of clipped) g.dispose();
    return norm;
  }

  /** Publish the current weights to the rollout engine as version `step`. */
  publish(board: WeightBoard): number {
    board.publish(this.step, this.model.readWeights());
    return this.step;
  }

  snapshot(): LearnerSnapshot {
    return { weights: this.model.readWeights(), optimizer: this.optimizer.state() };
  }

  restore(snapshot: LearnerSnapshot): void {
    this.model.writeWeights(snapshot.weights);
    this.optimizer.load(snapshot.optimizer);
  }

  /** Frees the optimizer state (the model and the reference belong to the caller). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
