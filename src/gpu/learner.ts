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
// A batch is computed in length buckets (never padded to its longest row), and `…Parallel` steps split it across
// gradient threads; both only change the float rounding of the same sums.

import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm, type AdamWState } from './adamw.js';
import { attentionMask, columnPositions, lengthBuckets, MASKED, PAD_ID } from './layout.js';
import { LearnerConfigSchema, type LearnerConfig, type LearnerConfigInput } from './learnerConfig.js';
import type { Gpt, Weights } from './model.js';
import { oneHot } from './ops.js';
import type { WeightBoard } from './weights.js';

export { LearnerConfigSchema, type LearnerConfig, type LearnerConfigInput };

/** Worker threads that compute shard gradients (gradientWorkers.ts implements it). */
export interface GradientThreads {
  /** Workers (the calling thread computes one more shard). */
  readonly size: number;
  /** The threads hold the frozen reference model (needed for policy shards when klCoef > 0). */
  readonly hasReference: boolean;
  /** Each worker's supervised shard gradient, in shard order, computed on `weights`. */
  gradients(
    weights: Weights,
    shards: readonly (readonly SupervisedSample[])[],
    normalizer: number,
  ): Promise<SupervisedShardResult[]>;
  /** Each worker's policy shard gradient and sums, in shard order, computed on `weights`. */
  policyGradients(weights: Weights, shards: readonly PolicyShard[]): Promise<PolicyShardResult[]>;
}

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

interface EpochMetrics {
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
interface PolicyStepMetrics extends EpochMetrics {
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

interface SupervisedStepMetrics {
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
interface LearnerSnapshot {
  readonly weights: Weights;
  readonly optimizer: AdamWState;
}

// -----------------------------------------------------------------------------------------------------------
// Packing batches into arrays (see layout.ts for the padding scheme)
//
// A batch is cut into length buckets (layout.ts `lengthBuckets`), each padded only to its own longest row, and the
// buckets' losses add up to the batch's: every weight is scaled by a batch-wide count (`PolicyNorms`), never by a
// bucket's. A policy row is right-aligned (left-padded as a whole), so every row's completion ends in the last
// column and the output head runs on the last C columns only (C = the bucket's longest completion); row r's
// completion token t sits at window slot C − len_r + t.

/** Batch-wide counts that scale a bucket's or a shard's loss, so the parts add up to the whole batch's loss. */
interface PolicyNorms {
  /** Completion tokens of the whole batch ('token-mean' and the per-token statistics divide by it). */
  readonly completionTokens: number;
  /** Sequences of the whole batch ('sequence-mean'). */
  readonly sequences: number;
  /** Predicted tokens of the whole supervised batch mixed in (0: none). */
  readonly sftPredicted: number;
  /** Every sequence of the batch carries rollout log-probs (PPO ratios and the rollout KL are computed). */
  readonly withOld: boolean;
}

/** What a policy loss needs from the learner's config (also sent to gradient threads). */
type PolicySettings = Pick<
  LearnerConfig,
  'temperature' | 'ppoClip' | 'entropyCoef' | 'klCoef' | 'sftCoef' | 'aggregation'
>;

interface PolicyBatch {
  readonly B: number;
  readonly C: number;
  readonly T: number;
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  readonly mask: Float32Array;
  /** `[B, C]` window of completion slots (right-aligned): targets, validity, weights, advantages per token. */
  readonly targets: Int32Array;
  /** 1 on real completion tokens. */
  readonly valid: Float32Array;
  /** Aggregation weights: valid / #tokens ('token-mean') or valid / (len · #sequences) ('sequence-mean'). */
  readonly aggWeights: Float32Array;
  readonly advantages: Float32Array;
  readonly oldLogProbs: Float32Array | null;
  /** Additive `[B, C, V]` allowed-set mask (0 allowed, MASKED not); null when no row was constrained. */
  readonly logitMask: Float32Array | null;
  readonly inputTokens: number;
}

/** Input positions of a policy sample: its prompt and all but the last completion token. */
const policyLength = (s: PolicySample): number => s.prompt.length + s.tokens.length - 1;

function checkPolicySample(s: PolicySample, vocab: number, contextLength: number): void {
  const len = s.tokens.length;
  if (s.prompt.length === 0) throw new Error('a prompt needs at least one token');
  if (s.prompt.length + len - 1 > contextLength)
    throw new Error(`prompt ${s.prompt.length} + completion ${len} tokens exceed the context of ${contextLength}`);
  if (!Number.isFinite(s.advantage)) throw new Error(`advantage must be finite, got ${s.advantage}`);
  if (s.logProbs !== undefined && s.logProbs.length !== len)
    throw new Error(`${s.logProbs.length} log-probs for ${len} tokens`);
  if (s.masks !== undefined && s.masks !== null && s.masks.length !== len * vocab)
    throw new Error(`masks hold ${s.masks.length} entries, expected ${len}×${vocab}`);
  for (let t = 0; t < len; t++) {
    const token = s.tokens[t] as number;
    if (!Number.isInteger(token) || token < 0 || token >= vocab)
      throw new Error(`token ${token} outside the vocabulary of ${vocab}`);
    if (s.masks !== undefined && s.masks !== null && s.masks[t * vocab + token] !== 1)
      throw new Error(`token ${token} at step ${t} was not allowed by its own mask`);
  }
}

/** Batch-wide counts of `rows` (sequences with at least one completion token). */
function policyNorms(rows: readonly PolicySample[], sft: readonly SupervisedSample[]): PolicyNorms {
  return {
    completionTokens: rows.reduce((n, s) => n + s.tokens.length, 0),
    sequences: rows.length,
    sftPredicted: sft.reduce((n, x) => n + predictedTokens(x), 0),
    withOld: rows.every((s) => s.logProbs !== undefined),
  };
}

/** One bucket of checked rows, right-aligned (see the section comment). */
function packPolicy(
  rows: readonly PolicySample[],
  vocab: number,
  contextLength: number,
  aggregation: LearnerConfig['aggregation'],
  norms: PolicyNorms,
): PolicyBatch {
  const B = rows.length;
  const C = Math.max(...rows.map((s) => s.tokens.length));
  const T = Math.max(...rows.map(policyLength));
  const tokens = new Int32Array(B * T).fill(PAD_ID);
  const pads = new Int32Array(B);
  const targets = new Int32Array(B * C);
  const valid = new Float32Array(B * C);
  const aggWeights = new Float32Array(B * C);
  const advantages = new Float32Array(B);
  const oldLogProbs = norms.withOld ? new Float32Array(B * C) : null;
  const logitMask = rows.some((s) => s.masks !== undefined && s.masks !== null)
    ? new Float32Array(B * C * vocab)
    : null;
  let inputTokens = 0;
  rows.forEach((s, r) => {
    const len = s.tokens.length;
    const pad = T - policyLength(s);
    pads[r] = pad;
    s.prompt.forEach((t, j) => (tokens[r * T + pad + j] = t));
    for (let j = 0; j < len - 1; j++) tokens[r * T + pad + s.prompt.length + j] = s.tokens[j] as number;
    inputTokens += policyLength(s);
    advantages[r] = s.advantage;
    const weight = aggregation === 'token-mean' ? 1 / norms.completionTokens : 1 / (len * norms.sequences);
    const masks = s.masks ?? null;
    for (let t = 0; t < len; t++) {
      const i = r * C + C - len + t;
      targets[i] = s.tokens[t] as number;
      valid[i] = 1;
      aggWeights[i] = weight;
      if (oldLogProbs !== null) oldLogProbs[i] = s.logProbs![t] as number;
      if (logitMask !== null && masks !== null) {
        const from = t * vocab;
        const to = i * vocab;
        for (let a = 0; a < vocab; a++) if (masks[from + a] === 0) logitMask[to + a] = MASKED;
      }
    }
  });
  return {
    B,
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
  };
}

interface SupervisedBatch {
  readonly B: number;
  readonly T: number;
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  readonly mask: Float32Array;
  readonly targets: Int32Array;
  /** Loss weights: 1/normalizer per predicted token. */
  readonly weights: Float32Array;
  readonly predicted: number;
  readonly inputTokens: number;
}

function checkSupervisedSample(s: SupervisedSample, vocab: number, contextLength: number): void {
  const L = s.tokens.length;
  if (L - 1 > contextLength)
    throw new Error(`a supervised sequence of ${L} tokens exceeds the context of ${contextLength} (+1)`);
  if (s.lossMask !== undefined && s.lossMask.length !== L)
    throw new Error(`lossMask has ${s.lossMask.length} entries for ${L} tokens`);
  for (const token of s.tokens)
    if (!Number.isInteger(token) || token < 0 || token >= vocab)
      throw new Error(`token ${token} outside the vocabulary of ${vocab}`);
}

/** One bucket of checked supervised sequences (right-padded); loss weights 1/`normalizer` per predicted token. */
function packSupervised(
  samples: readonly SupervisedSample[],
  contextLength: number,
  normalizer: number,
): SupervisedBatch {
  const B = samples.length;
  const T = Math.max(...samples.map((s) => s.tokens.length)) - 1;
  const tokens = new Int32Array(B * T).fill(PAD_ID);
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  let predicted = 0;
  let inputTokens = 0;
  samples.forEach((s, r) => {
    const L = s.tokens.length;
    inputTokens += L - 1;
    for (let j = 0; j < L; j++) {
      const token = s.tokens[j] as number;
      if (j < L - 1) tokens[r * T + j] = token;
      if (j >= 1 && (s.lossMask === undefined || (s.lossMask[j] as number) !== 0)) {
        targets[r * T + j - 1] = token;
        weights[r * T + j - 1] = 1 / normalizer;
        predicted++;
      }
    }
  });
  const pads = new Int32Array(B);
  return {
    B,
    T,
    tokens,
    positions: columnPositions(pads, 0, T, contextLength),
    mask: attentionMask(pads, 0, T),
    targets,
    weights,
    predicted,
    inputTokens,
  };
}

/** Checked supervised samples cut into length buckets, weighted 1/`normalizer` per predicted token. */
function supervisedBuckets(
  samples: readonly SupervisedSample[],
  vocab: number,
  contextLength: number,
  normalizer: number,
): SupervisedBatch[] {
  for (const s of samples) checkSupervisedSample(s, vocab, contextLength);
  // a one-token sequence has no position to predict from
  const rows = samples.filter((s) => s.tokens.length >= 2);
  if (rows.length === 0) throw new Error('supervised sequences need at least two tokens');
  return lengthBuckets(rows.map((s) => s.tokens.length - 1)).map((idx) =>
    packSupervised(
      idx.map((i) => rows[i]!),
      contextLength,
      normalizer,
    ),
  );
}

// -----------------------------------------------------------------------------------------------------------
// Differentiable pieces

/** Log-probs `[B, C, V]` of the masked, temperature-scaled policy at each completion slot (head on the last C columns). */
function completionLogProbs(model: Gpt, b: PolicyBatch, temperature: number): tf.Tensor3D {
  const V = model.config.vocabSize;
  const { logits } = model.forward(
    tf.tensor2d(b.tokens, [b.B, b.T], 'int32'),
    tf.tensor2d(b.positions, [b.B, b.T], 'int32'),
    tf.tensor4d(b.mask, [b.B, 1, b.T, b.T]),
    {
      tail: b.C,
    },
  );
  let z: tf.Tensor = logits;
  if (temperature !== 1) z = tf.div(z, temperature);
  if (b.logitMask !== null) z = tf.add(z, tf.tensor3d(b.logitMask, [b.B, b.C, V]));
  return tf.logSoftmax(z, -1) as tf.Tensor3D;
}

/** Pick `logp[..., target]` with a one-hot product (no gather gradient on wasm). */
function pick(logpAll: tf.Tensor, targets: Int32Array, shape: [number, number], vocab: number): tf.Tensor2D {
  return tf.sum(tf.mul(logpAll, oneHot(tf.tensor2d(targets, shape, 'int32'), vocab)), -1) as tf.Tensor2D;
}

/** The bucket's share of the weighted next-token cross-entropy (a scalar). */
function supervisedLoss(model: Gpt, b: SupervisedBatch): tf.Scalar {
  const V = model.config.vocabSize;
  const { logits } = model.forward(
    tf.tensor2d(b.tokens, [b.B, b.T], 'int32'),
    tf.tensor2d(b.positions, [b.B, b.T], 'int32'),
    tf.tensor4d(b.mask, [b.B, 1, b.T, b.T]),
  );
  const logp = pick(tf.logSoftmax(logits, -1), b.targets, [b.B, b.T], V);
  return tf.neg(tf.sum(tf.mul(logp, tf.tensor2d(b.weights, [b.B, b.T])))) as tf.Scalar;
}

/** Tokens a supervised sequence has loss on (what packSupervised counts). */
function predictedTokens(sample: SupervisedSample): number {
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
 * weighted 1/`normalizer` per predicted token (default: their own count, so the loss is their mean). One tape over
 * the length buckets.
 */
function supervisedGradients(
  model: Gpt,
  samples: readonly SupervisedSample[],
  variables: tf.Variable[],
  normalizer?: number,
): { grads: tf.NamedTensorMap; loss: number; predicted: number; inputTokens: number } {
  if (samples.length === 0) throw new Error('a supervised batch needs at least one sequence');
  const predicted = samples.reduce((n, s) => n + predictedTokens(s), 0);
  if (predicted === 0 && normalizer === undefined)
    throw new Error('the supervised batch predicts no token (empty loss masks)');
  const buckets = supervisedBuckets(
    samples,
    model.config.vocabSize,
    model.config.contextLength,
    normalizer ?? predicted,
  );
  const { value, grads } = tf.variableGrads(
    () => buckets.reduce((acc: tf.Scalar, b) => tf.add(acc, supervisedLoss(model, b)), tf.scalar(0)),
    variables,
  );
  const loss = value.dataSync()[0] as number;
  value.dispose();
  return { grads, loss, predicted, inputTokens: buckets.reduce((n, b) => n + b.inputTokens, 0) };
}

/** Each gradient of `grads` as a Float32Array (a copy), in `variables` order; the tensors are disposed. */
function gradientArrays(grads: tf.NamedTensorMap, variables: readonly tf.Variable[]): Float32Array[] {
  const out = variables.map((v) => {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`no gradient for '${v.name}'`);
    return Float32Array.from(g.dataSync() as Float32Array);
  });
  for (const g of Object.values(grads)) g.dispose();
  return out;
}

/**
 * Gradients of `samples`' share of a batch's mean next-token loss, the batch having `normalizer` predicted tokens in
 * all (a gradient thread's work; see gradientWorkers.ts). No optimizer step.
 */
export function supervisedShardGradients(
  model: Gpt,
  samples: readonly SupervisedSample[],
  normalizer: number,
): SupervisedShardResult {
  const variables = model.params.map((p) => p.variable);
  const { grads, loss, inputTokens } = supervisedGradients(model, samples, variables, normalizer);
  return { grads: gradientArrays(grads, variables), loss, inputTokens };
}

/** Sums over a shard's tokens that the batch's metrics are made of (each divided by a batch-wide count later). */
interface PolicySums {
  /** Its part of the total loss (aggregated with batch-wide weights, SFT term included). */
  readonly loss: number;
  /** Its part of the policy-gradient term (aggregated). */
  readonly policyLoss: number;
  /** Σ entropy, Σ k3 rollout KL, Σ exact KL to the reference, Σ clipped (per completion token). */
  readonly entropy: number;
  readonly klRollout: number;
  readonly klReference: number;
  readonly clipped: number;
  /** Its part of the supervised cross-entropy (weighted by the whole SFT batch's count). */
  readonly sftLoss: number;
}

/** A shard of a policy step: its rows, its part of the supervised batch, and the batch-wide counts. */
export interface PolicyShard {
  readonly samples: readonly PolicySample[];
  readonly sft: readonly SupervisedSample[];
  readonly norms: PolicyNorms;
  readonly settings: PolicySettings;
}

export interface PolicyShardResult {
  readonly grads: Float32Array[];
  readonly sums: PolicySums;
  readonly inputTokens: number;
}

/**
 * The policy loss of one bucket (a scalar, batch-wide weights) and its statistic sums
 * `[policyLoss, entropy, klRollout, klReference, clipped]`.
 */
function policyBucketLoss(
  model: Gpt,
  b: PolicyBatch,
  refLogp: tf.Tensor3D | null,
  cfg: PolicySettings,
): { loss: tf.Scalar; stats: tf.Tensor1D } {
  const V = model.config.vocabSize;
  const shape: [number, number] = [b.B, b.C];
  const logpAll = completionLogProbs(model, b, cfg.temperature);
  const logp = pick(logpAll, b.targets, shape, V);
  const valid = tf.tensor2d(b.valid, shape);
  const aggregate = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(x, tf.tensor2d(b.aggWeights, shape)));
  const tokenSum = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(x, valid));
  const adv = tf.reshape(tf.tensor1d(b.advantages), [b.B, 1]);
  const zero = tf.scalar(0);

  let pg: tf.Tensor;
  let klRollout: tf.Scalar = zero;
  let clipped: tf.Scalar = zero;
  if (b.oldLogProbs !== null) {
    const logRatio = tf.sub(logp, tf.tensor2d(b.oldLogProbs, shape));
    const ratio = tf.exp(logRatio);
    klRollout = tokenSum(tf.sub(tf.sub(ratio, 1), logRatio)); // k3: E_old[ρ − 1 − log ρ]
    if (cfg.ppoClip !== null) {
      const eps = cfg.ppoClip;
      pg = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), adv)));
      clipped = tokenSum(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), eps), 'float32'));
    } else pg = tf.neg(tf.mul(logp, adv));
  } else pg = tf.neg(tf.mul(logp, adv));

  const probs = tf.exp(logpAll);
  const entropy = tf.neg(tf.sum(tf.mul(probs, logpAll), -1));
  let perToken = pg;
  if (cfg.entropyCoef > 0) perToken = tf.sub(perToken, tf.mul(entropy, cfg.entropyCoef));
  let klReference: tf.Scalar = zero;
  if (refLogp !== null) {
    const kl = tf.sum(tf.mul(probs, tf.sub(logpAll, refLogp)), -1);
    klReference = tokenSum(kl);
    perToken = tf.add(perToken, tf.mul(kl, cfg.klCoef));
  }
  return {
    loss: aggregate(perToken),
    stats: tf.stack([aggregate(pg), tokenSum(entropy), klRollout, klReference, clipped]) as tf.Tensor1D,
  };
}

/**
 * Gradients (tensors the caller disposes) and statistic sums of a shard's part of a policy step: its rows in length
 * buckets (the frozen reference's log-probs computed first, outside the tape, only when klCoef > 0) plus λ times its
 * part of the supervised batch, all on one tape.
 */
function policyGradients(
  model: Gpt,
  reference: Gpt | null,
  shard: PolicyShard,
  variables: tf.Variable[],
): { grads: tf.NamedTensorMap; sums: PolicySums; inputTokens: number } {
  const { vocabSize: V, contextLength } = model.config;
  const cfg = shard.settings;
  const rows = shard.samples;
  const buckets = lengthBuckets(rows.map(policyLength)).map((idx) =>
    packPolicy(
      idx.map((i) => rows[i]!),
      V,
      contextLength,
      cfg.aggregation,
      shard.norms,
    ),
  );
  const sft =
    shard.sft.length > 0 && cfg.sftCoef > 0
      ? supervisedBuckets(shard.sft, V, contextLength, shard.norms.sftPredicted)
      : [];
  if (cfg.klCoef > 0 && reference === null) throw new Error('klCoef > 0 needs a reference model');
  const refLogp =
    cfg.klCoef > 0 ? buckets.map((b) => tf.tidy(() => completionLogProbs(reference!, b, cfg.temperature))) : null;
  let stats: tf.Tensor1D | null = null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      let loss: tf.Scalar = tf.scalar(0);
      let sums: tf.Tensor = tf.zeros([6]);
      buckets.forEach((b, k) => {
        const part = policyBucketLoss(model, b, refLogp?.[k] ?? null, cfg);
        loss = tf.add(loss, part.loss);
        sums = tf.add(sums, tf.concat([part.stats, tf.zeros([1])]));
      });
      for (const s of sft) {
        const part = supervisedLoss(model, s);
        loss = tf.add(loss, tf.mul(part, cfg.sftCoef));
        sums = tf.add(sums, tf.concat([tf.zeros([5]), tf.reshape(part, [1])]));
      }
      stats = tf.keep(sums as tf.Tensor1D);
      return loss;
    }, variables);
    const total = value.dataSync()[0] as number;
    value.dispose();
    const st = (stats as tf.Tensor1D | null)!.dataSync();
    const inputTokens = buckets.reduce((n, b) => n + b.inputTokens, 0) + sft.reduce((n, b) => n + b.inputTokens, 0);
    return {
      grads,
      sums: {
        loss: total,
        policyLoss: st[0]!,
        entropy: st[1]!,
        klRollout: st[2]!,
        klReference: st[3]!,
        clipped: st[4]!,
        sftLoss: st[5]!,
      },
      inputTokens,
    };
  } finally {
    (stats as tf.Tensor1D | null)?.dispose();
    for (const r of refLogp ?? []) r.dispose();
  }
}

/** A gradient thread's share of a policy step (see gradientWorkers.ts): gradients as arrays, in parameter order. */
export function policyShardGradients(model: Gpt, reference: Gpt | null, shard: PolicyShard): PolicyShardResult {
  const variables = model.params.map((p) => p.variable);
  const { grads, sums, inputTokens } = policyGradients(model, reference, shard, variables);
  return { grads: gradientArrays(grads, variables), sums, inputTokens };
}

/**
 * Log-probs the learner assigns to each completion token (the masked, temperature-scaled policy), without gradients.
 * Equals the sampler's `logProbs` up to float rounding; used to check that, and for offline scoring.
 */
export function scoreCompletions(
  model: Gpt,
  samples: readonly Omit<PolicySample, 'advantage'>[],
  temperature = 1,
): number[][] {
  const { vocabSize: V, contextLength } = model.config;
  const rows = samples.map((s) => ({ ...s, advantage: 0 })).filter((s) => s.tokens.length > 0);
  for (const s of rows) checkPolicySample(s, V, contextLength);
  const norms = policyNorms(rows, []);
  const scored = new Map<PolicySample, number[]>();
  for (const idx of lengthBuckets(rows.map(policyLength))) {
    const bucket = idx.map((i) => rows[i]!);
    const b = packPolicy(bucket, V, contextLength, 'token-mean', norms);
    const values = tf.tidy(() => pick(completionLogProbs(model, b, temperature), b.targets, [b.B, b.C], V).dataSync());
    bucket.forEach((s, r) =>
      scored.set(s, Array.from(values.subarray(r * b.C + b.C - s.tokens.length, (r + 1) * b.C))),
    );
  }
  let row = 0;
  return samples.map((s) => (s.tokens.length === 0 ? [] : scored.get(rows[row++]!)!));
}

// -----------------------------------------------------------------------------------------------------------
// The learner

interface LearnerOptions {
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
    if (this.config.klCoef > 0 && options.reference === undefined)
      throw new Error('klCoef > 0 needs a reference model');
    if (options.reference !== undefined && JSON.stringify(options.reference.config) !== JSON.stringify(model.config))
      throw new Error('the reference model must have the same config');
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
    return this.localEpochs(this.policyShard(batch, sft), start);
  }

  /** Every epoch of a policy step on this thread alone. */
  private localEpochs(shard: PolicyShard, start: number): PolicyStepMetrics {
    const perEpoch: EpochMetrics[] = [];
    let processed = 0;
    for (let epoch = 0; epoch < this.config.ppoEpochs; epoch++) {
      const local = policyGradients(this.model, this.reference, shard, this.trainable());
      const gradNorm = this.applyGradients(gradientArrays(local.grads, this.trainable()));
      perEpoch.push(epochMetrics(local.sums, shard.norms, this.config, this.reference !== null, gradNorm));
      processed += local.inputTokens;
    }
    return this.policyMetrics(perEpoch, shard.norms, processed, start);
  }

  /**
   * `policyStep` with each epoch's batch split across this thread and `threads`' workers (rows dealt round-robin by
   * length, so the shards cost about the same; the supervised batch likewise): each computes its shard's gradient
   * of the batch loss on the same weights, the gradients are summed here, then clipped and stepped once. Equals
   * `policyStep` up to float rounding, and is deterministic for a fixed number of threads.
   */
  async policyStepParallel(
    batch: readonly PolicySample[],
    sft: readonly SupervisedSample[] | undefined,
    threads: GradientThreads,
  ): Promise<PolicyStepMetrics> {
    const start = this.now();
    const whole = this.policyShard(batch, sft);
    const K = Math.min(whole.samples.length, threads.size + 1);
    if (K <= 1) return this.localEpochs(whole, start);
    if (this.config.klCoef > 0 && !threads.hasReference)
      throw new Error(
        'klCoef > 0: the gradient threads need the reference model (GradientWorkers.start with reference)',
      );
    const byLength = whole.samples
      .map((_, i) => i)
      .sort((a, b) => policyLength(whole.samples[b]!) - policyLength(whole.samples[a]!) || a - b);
    const sftByLength = whole.sft
      .map((_, i) => i)
      .sort((a, b) => whole.sft[b]!.tokens.length - whole.sft[a]!.tokens.length || a - b);
    const shards: PolicyShard[] = Array.from({ length: K }, (_, k) => ({
      ...whole,
      samples: byLength.filter((_, j) => j % K === k).map((i) => whole.samples[i]!),
      sft: sftByLength.filter((_, j) => j % K === k).map((i) => whole.sft[i]!),
    }));
    const perEpoch: EpochMetrics[] = [];
    let processed = 0;
    for (let epoch = 0; epoch < this.config.ppoEpochs; epoch++) {
      const remote = threads.policyGradients(this.model.readWeights(), shards.slice(1));
      // this thread's shard while the workers do theirs (a synchronous tfjs computation)
      const local = policyGradients(this.model, this.reference, shards[0]!, this.trainable());
      const others = await this.joinRemote(remote, local.grads);
      const gradNorm = this.applyGradients(this.sumGradients(local.grads, others));
      const sums = others.reduce((acc, r) => addSums(acc, r.sums), local.sums);
      perEpoch.push(epochMetrics(sums, whole.norms, this.config, this.reference !== null, gradNorm));
      processed += others.reduce((n, r) => n + r.inputTokens, local.inputTokens);
    }
    return this.policyMetrics(perEpoch, whole.norms, processed, start);
  }

  /** The whole batch as one shard: rows with a completion, checked, with the batch-wide counts. */
  private policyShard(batch: readonly PolicySample[], sft: readonly SupervisedSample[] | undefined): PolicyShard {
    const { vocabSize: V, contextLength } = this.model.config;
    const cfg = this.config;
    const samples = batch.filter((s) => s.tokens.length > 0);
    if (samples.length === 0) throw new Error('a policy batch needs at least one completion token');
    for (const s of samples) checkPolicySample(s, V, contextLength);
    const supervised = sft !== undefined && cfg.sftCoef > 0 ? sft : [];
    const norms = policyNorms(samples, supervised);
    if (cfg.ppoClip !== null && !norms.withOld) throw new Error('PPO needs the rollout log-probs of every sample');
    if (supervised.length > 0 && norms.sftPredicted === 0)
      throw new Error('the supervised batch predicts no token (empty loss masks)');
    const { temperature, ppoClip, entropyCoef, sftCoef, aggregation } = cfg;
    // no reference forward at all when the KL term is off
    const klCoef = this.reference === null ? 0 : cfg.klCoef;
    return {
      samples,
      sft: supervised,
      norms,
      settings: { temperature, ppoClip, entropyCoef, klCoef, sftCoef, aggregation },
    };
  }

  private policyMetrics(
    perEpoch: EpochMetrics[],
    norms: PolicyNorms,
    processed: number,
    start: number,
  ): PolicyStepMetrics {
    const seconds = (this.now() - start) / 1000;
    return {
      ...(perEpoch[0] as EpochMetrics),
      perEpoch,
      tokens: norms.completionTokens,
      tokensPerSecond: seconds > 0 ? processed / seconds : 0,
      seconds,
      optimizerSteps: perEpoch.length,
      step: this.step,
    };
  }

  /** The workers' shard results; on failure the local gradients are freed and the error passed on. */
  private async joinRemote<R>(remote: Promise<R[]>, local: tf.NamedTensorMap): Promise<R[]> {
    try {
      return await remote;
    } catch (e) {
      for (const g of Object.values(local)) g.dispose();
      throw e;
    }
  }

  /** The local gradients (tensors, disposed here) plus the workers' (in shard order), per parameter. */
  private sumGradients(
    local: tf.NamedTensorMap,
    others: readonly { readonly grads: readonly Float32Array[] }[],
  ): Float32Array[] {
    const summed = gradientArrays(local, this.trainable());
    for (const r of others)
      summed.forEach((g, i) => {
        const o = r.grads[i]!;
        for (let j = 0; j < g.length; j++) g[j] = (g[j] as number) + (o[j] as number);
      });
    return summed;
  }

  /** One next-token cross-entropy step (pretraining the base model). */
  supervisedStep(batch: readonly SupervisedSample[]): SupervisedStepMetrics {
    const start = this.now();
    const local = supervisedGradients(this.model, batch, this.trainable());
    const gradNorm = this.applyGradients(gradientArrays(local.grads, this.trainable()));
    const seconds = (this.now() - start) / 1000;
    return {
      loss: local.loss,
      gradNorm,
      tokens: local.predicted,
      tokensPerSecond: seconds > 0 ? local.inputTokens / seconds : 0,
      seconds,
      step: this.step,
    };
  }

  /**
   * One next-token cross-entropy step with the batch split across this thread and `threads`' workers (rows dealt
   * round-robin, so every shard gets a similar length mix): each computes its shard's gradient of the batch mean loss
   * on the same weights, the gradients are summed here, then clipped and stepped once. Equals `supervisedStep` on the
   * whole batch up to float rounding, and is deterministic for a fixed number of threads.
   */
  async supervisedStepParallel(
    batch: readonly SupervisedSample[],
    threads: GradientThreads,
  ): Promise<SupervisedStepMetrics> {
    const start = this.now();
    const K = Math.min(batch.length, threads.size + 1);
    if (K <= 1) return this.supervisedStep(batch);
    const shards = Array.from({ length: K }, (_, k) => batch.filter((_, i) => i % K === k));
    const normalizer = batch.reduce((n, x) => n + predictedTokens(x), 0);
    if (normalizer === 0) throw new Error('the supervised batch predicts no token (empty loss masks)');
    const remote = threads.gradients(this.model.readWeights(), shards.slice(1), normalizer);
    // this thread's shard while the workers do theirs (a synchronous tfjs computation)
    const local = supervisedGradients(this.model, shards[0]!, this.trainable(), normalizer);
    const others = await this.joinRemote(remote, local.grads);
    const gradNorm = this.applyGradients(this.sumGradients(local.grads, others));
    const loss = others.reduce((n, r) => n + r.loss, local.loss);
    const inputTokens = others.reduce((n, r) => n + r.inputTokens, local.inputTokens);
    const seconds = (this.now() - start) / 1000;
    return {
      loss,
      gradNorm,
      tokens: normalizer,
      tokensPerSecond: seconds > 0 ? inputTokens / seconds : 0,
      seconds,
      step: this.step,
    };
  }

  /** Mean next-token cross-entropy of `batch` under the current weights, without training. */
  supervisedLoss(batch: readonly SupervisedSample[]): number {
    if (batch.length === 0) throw new Error('a supervised batch needs at least one sequence');
    const predicted = batch.reduce((n, s) => n + predictedTokens(s), 0);
    if (predicted === 0) throw new Error('the supervised batch predicts no token (empty loss masks)');
    const buckets = supervisedBuckets(batch, this.model.config.vocabSize, this.model.config.contextLength, predicted);
    return tf.tidy(() => buckets.reduce((n, b) => n + (supervisedLoss(this.model, b).dataSync()[0] as number), 0));
  }

  private trainable(): tf.Variable[] {
    return this.model.params.map((p) => p.variable);
  }

  /** Clip and step; returns the pre-clip gradient norm (a non-finite norm skips the step). */
  private applyGradients(grads: readonly Float32Array[]): number {
    const { scale, norm } = clipByGlobalNorm(grads, this.config.maxGradNorm);
    if (!Number.isFinite(norm)) throw new Error(`non-finite gradient norm (${norm}); the step was skipped`);
    this.optimizer.apply(grads, scale);
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

/** Two shards' sums added. */
function addSums(a: PolicySums, b: PolicySums): PolicySums {
  return {
    loss: a.loss + b.loss,
    policyLoss: a.policyLoss + b.policyLoss,
    entropy: a.entropy + b.entropy,
    klRollout: a.klRollout + b.klRollout,
    klReference: a.klReference + b.klReference,
    clipped: a.clipped + b.clipped,
    sftLoss: a.sftLoss + b.sftLoss,
  };
}

/** An epoch's metrics from the batch's sums: per-token statistics divided by the batch's completion tokens. */
function epochMetrics(
  sums: PolicySums,
  norms: PolicyNorms,
  cfg: LearnerConfig,
  withReference: boolean,
  gradNorm: number,
): EpochMetrics {
  const perToken = (x: number): number => x / norms.completionTokens;
  return {
    loss: sums.loss,
    policyLoss: sums.policyLoss,
    entropy: perToken(sums.entropy),
    klRollout: norms.withOld ? perToken(sums.klRollout) : null,
    klReference: withReference && cfg.klCoef > 0 ? perToken(sums.klReference) : null,
    sftLoss: norms.sftPredicted > 0 ? sums.sftLoss : null,
    clipFraction: cfg.ppoClip !== null && norms.withOld ? perToken(sums.clipped) : null,
    gradNorm,
  };
}
