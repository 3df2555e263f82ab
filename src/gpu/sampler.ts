// Batched sampling with a KV cache and per-sequence token constraints; the same loop drives tfjs and onnxruntime.
//
// Distribution semantics (the learner must compute the same one, so it takes the same masks and temperature):
//   π(a | prefix) = softmax over the ALLOWED tokens of logits / temperature; disallowed tokens have probability 0.
// Each completion carries the log-probability of every sampled token under exactly that masked, temperature-scaled
// distribution, and (when constrained) the allowed-set mask of every step. Temperature 0 is greedy decoding
// (argmax over the allowed tokens, lowest id on ties); its log-probs are then reported at temperature 1.
// Uniforms come from the injected Rng in JS, one per still-active row per step in row order, so two engines that
// produce equal logits sample equal tokens.

import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../azr/rng.js';
import { attentionMask, columnPositions, leftPad, PAD_ID } from './layout.js';
import { disposeCache, type Gpt, type LayerCache } from './model.js';

/**
 * Grammar-constrained decoding plugs in here: one stateful constraint per sequence. Before each token the sampler
 * asks `allowed()` (token ids; must be non-empty unless `done()`), samples among them, then calls `advance(token)`.
 * Once `done()` is true the sequence ends (no end token is needed).
 */
export interface TokenConstraint {
  allowed(): ArrayLike<number>;
  advance(token: number): void;
  done(): boolean;
}

export interface SampleRequest {
  /** Prompt token ids (at least one). */
  readonly prompt: readonly number[];
  /** Grammar constraint for this sequence; none = free generation (the paper's setting, an ablation here). */
  readonly constraint?: TokenConstraint;
  /** Overrides `DecodeOptions.maxNewTokens` for this sequence. */
  readonly maxNewTokens?: number;
  /**
   * Stop after the `DecodeOptions.endToken` has been sampled this many times (default 1). Free generation of a
   * proposer answer (`program <end> args <end>`) stops after its second end token.
   */
  readonly endCount?: number;
}

export interface DecodeOptions {
  /** Source of the sampling uniforms. */
  readonly rng: Rng;
  /** Softmax temperature; 1.0 as in the paper; 0 = greedy. */
  readonly temperature?: number;
  /** Length cap on each completion (also capped by contextLength − prompt length). */
  readonly maxNewTokens: number;
  /** A sequence that samples this token (its request's `endCount` times) stops; the token is kept in the completion. */
  readonly endToken?: number;
  /** Keep each constrained step's allowed-set mask in the completion (default true; the learner needs it). */
  readonly recordMasks?: boolean;
}

type StopReason = 'end' | 'constraint' | 'length';

export interface Completion {
  readonly tokens: number[];
  /** log π of each sampled token under the masked, temperature-scaled distribution it was drawn from. */
  readonly logProbs: number[];
  /** `[tokens.length × vocab]`, 1 where the token was allowed; null when unconstrained (everything allowed). */
  readonly masks: Uint8Array | null;
  /** Why it ended: end token, constraint done, or length cap (a truncated, probably ill-formed answer). */
  readonly stop: StopReason;
}

/** A model that computes next-token logits incrementally, keeping the keys/values of earlier columns itself. */
export interface IncrementalDecoder {
  readonly vocabSize: number;
  readonly contextLength: number;
  /** Forget all cached columns (start of a batch). */
  reset(): void;
  /**
   * Run `count` new columns for each of `batch` rows: tokens/positions `[batch, count]`, additive mask
   * `[batch, 1, count, cached + count]`. Returns logits `[batch, count, vocab]`.
   */
  feed(
    tokens: Int32Array,
    positions: Int32Array,
    mask: Float32Array,
    batch: number,
    count: number,
  ): Promise<Float32Array>;
  dispose(): void;
}

/** Index of a draw and its log-probability. */
interface Draw {
  readonly token: number;
  readonly logProb: number;
}

/**
 * Sample one token from `logits[offset, offset + vocab)` restricted to `allowed` (null = all), at `temperature`,
 * with uniform `u` in [0, 1) (inverse-CDF over token ids in increasing order). Computed in float64.
 */
export function drawToken(
  logits: ArrayLike<number>,
  offset: number,
  vocab: number,
  allowed: Uint8Array | null,
  temperature: number,
  u: number,
): Draw {
  const greedy = temperature === 0;
  const t = greedy ? 1 : temperature;
  let max = -Infinity;
  let argmax = -1;
  for (let a = 0; a < vocab; a++) {
    if (allowed !== null && allowed[a] === 0) continue;
    const z = (logits[offset + a] as number) / t;
    if (z > max) {
      max = z;
      argmax = a;
    }
  }
  if (argmax < 0) throw new Error('no token is allowed');
  let total = 0;
  for (let a = 0; a < vocab; a++) {
    if (allowed !== null && allowed[a] === 0) continue;
    total += Math.exp((logits[offset + a] as number) / t - max);
  }
  const logTotal = Math.log(total);
  const logProbOf = (a: number): number => (logits[offset + a] as number) / t - max - logTotal;
  if (greedy) return { token: argmax, logProb: logProbOf(argmax) };
  const threshold = u * total;
  let cumulative = 0;
  let last = argmax;
  for (let a = 0; a < vocab; a++) {
    if (allowed !== null && allowed[a] === 0) continue;
    cumulative += Math.exp((logits[offset + a] as number) / t - max);
    last = a;
    if (cumulative > threshold) return { token: a, logProb: logProbOf(a) };
  }
  return { token: last, logProb: logProbOf(last) }; // u·total rounding past the sum
}

/** Fill `into` with 1 at the constraint's allowed ids (validated), 0 elsewhere. */
function allowedMask(constraint: TokenConstraint, vocab: number, into: Uint8Array): void {
  into.fill(0);
  const ids = constraint.allowed();
  if (ids.length === 0) throw new Error('the constraint allows no token but is not done');
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (!Number.isInteger(id) || id < 0 || id >= vocab)
      throw new Error(`the constraint allowed token ${id}, outside the vocabulary of ${vocab}`);
    into[id] = 1;
  }
}

/** Replay a fresh constraint over `tokens` to rebuild the masks a constrained sampler would have recorded. */
export function replayMasks(constraint: TokenConstraint, tokens: readonly number[], vocab: number): Uint8Array {
  const masks = new Uint8Array(tokens.length * vocab);
  tokens.forEach((token, t) => {
    const step = masks.subarray(t * vocab, (t + 1) * vocab);
    allowedMask(constraint, vocab, step);
    if (step[token] !== 1) throw new Error(`token ${token} at step ${t} is not allowed by the constraint`);
    constraint.advance(token);
  });
  return masks;
}

/** Sample a completion for every request, in one batch, through `decoder`. */
export async function decode(
  decoder: IncrementalDecoder,
  requests: readonly SampleRequest[],
  options: DecodeOptions,
): Promise<Completion[]> {
  const B = requests.length;
  if (B === 0) return [];
  const V = decoder.vocabSize;
  const temperature = options.temperature ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature))
    throw new RangeError(`temperature must be ≥ 0, got ${temperature}`);
  const record = options.recordMasks ?? true;
  const layout = leftPad(requests.map((r) => r.prompt));
  const budget = requests.map((r) => {
    const room = decoder.contextLength - r.prompt.length;
    if (room <= 0)
      throw new Error(`a prompt of ${r.prompt.length} tokens leaves no room in a context of ${decoder.contextLength}`);
    return Math.min(r.maxNewTokens ?? options.maxNewTokens, room);
  });
  const tokens: number[][] = requests.map(() => []);
  const logProbs: number[][] = requests.map(() => []);
  const masks: (Uint8Array | null)[] = requests.map((r, i) =>
    r.constraint !== undefined && record ? new Uint8Array((budget[i] as number) * V) : null,
  );
  const endsLeft = requests.map((r) => {
    const n = r.endCount ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`endCount must be an integer ≥ 1, got ${n}`);
    return n;
  });
  const stops: (StopReason | null)[] = requests.map((r, i) =>
    r.constraint?.done() === true ? 'constraint' : (budget[i] as number) <= 0 ? 'length' : null,
  );
  const scratch = new Uint8Array(V);

  decoder.reset();
  let column = layout.width;
  let logits = await decoder.feed(layout.tokens, layout.positions, attentionMask(layout.pads, 0, column), B, column);
  let stride = column; // columns per row in `logits`; we read the last
  for (;;) {
    const next = new Int32Array(B).fill(PAD_ID);
    let active = 0;
    for (let r = 0; r < B; r++) {
      if (stops[r] !== null) continue;
      const request = requests[r] as SampleRequest;
      const constraint = request.constraint;
      let allowed: Uint8Array | null = null;
      if (constraint !== undefined) {
        const step = tokens[r]!.length;
        allowed = masks[r]?.subarray(step * V, (step + 1) * V) ?? scratch;
        allowedMask(constraint, V, allowed);
      }
      const u = temperature === 0 ? 0 : options.rng.next();
      const draw = drawToken(logits, (r * stride + stride - 1) * V, V, allowed, temperature, u);
      tokens[r]!.push(draw.token);
      logProbs[r]!.push(draw.logProb);
      constraint?.advance(draw.token);
      if (constraint?.done() === true) stops[r] = 'constraint';
      else if (draw.token === options.endToken && (endsLeft[r] = (endsLeft[r] as number) - 1) === 0) stops[r] = 'end';
      else if (tokens[r]!.length >= (budget[r] as number)) stops[r] = 'length';
      else {
        next[r] = draw.token;
        active++;
      }
    }
    if (active === 0) break;
    logits = await decoder.feed(
      next,
      columnPositions(layout.pads, column, 1, decoder.contextLength),
      attentionMask(layout.pads, column, 1),
      B,
      1,
    );
    stride = 1;
    column++;
  }
  decoder.reset();
  return requests.map((_, r) => {
    const n = tokens[r]!.length;
    const m = masks[r];
    return {
      tokens: tokens[r]!,
      logProbs: logProbs[r]!,
      masks: m === null || m === undefined ? null : m.slice(0, n * V),
      stop: stops[r] as StopReason,
    };
  });
}

/** The tfjs model as an incremental decoder (KV cache kept as tensors between calls). */
export class TfjsDecoder implements IncrementalDecoder {
  private cache: LayerCache[] = [];
  constructor(private readonly model: Gpt) {}

  get vocabSize(): number {
    return this.model.config.vocabSize;
  }
  get contextLength(): number {
    return this.model.config.contextLength;
  }

  reset(): void {
    disposeCache(this.cache);
    this.cache = [];
  }

  async feed(
    tokens: Int32Array,
    positions: Int32Array,
    mask: Float32Array,
    batch: number,
    count: number,
  ): Promise<Float32Array> {
    const keys = (this.cache[0]?.k.shape[2] ?? 0) + count;
    const inputs = [
      tf.tensor2d(tokens, [batch, count], 'int32'),
      tf.tensor2d(positions, [batch, count], 'int32'),
      tf.tensor4d(mask, [batch, 1, count, keys]),
    ] as const;
    let out;
    try {
      out = this.model.forward(inputs[0], inputs[1], inputs[2], { past: this.cache, returnCache: true });
    } finally {
      for (const t of inputs) t.dispose();
    }
    disposeCache(this.cache);
    this.cache = out.present;
    const values = (await out.logits.data()) as Float32Array;
    out.logits.dispose();
    return values;
  }

  dispose(): void {
    this.reset();
  }
}

/** Sample with the tfjs model directly (the fallback engine and the parity oracle for onnxruntime). */
export async function sample(
  model: Gpt,
  requests: readonly SampleRequest[],
  options: DecodeOptions,
): Promise<Completion[]> {
  const decoder = new TfjsDecoder(model);
  try {
    return await decode(decoder, requests, options);
  } finally {
    decoder.dispose();
  }
}
