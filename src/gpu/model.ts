// The policy: a small decoder-only GPT (pre-LayerNorm, learned positions, tied embedding), in the spirit of nanoGPT's model.py.

import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Rng } from '../azr/rng.js';
import { withShapeRules } from './modelConfig.js';
import { embed, gelu, layerNorm, linear, matMul, transposeLast } from './ops.js';

// -----------------------------------------------------------------------------------------------------------
// Config

export const GptConfigSchema = withShapeRules(
  z.object({
    vocabSize: z.number().int().min(2).describe('tokens in the vocabulary (the tokenizer decides)'),
    contextLength: z.number().int().min(2).describe('most positions a sequence may use: prompt + completion'),
    layers: z.number().int().min(1).describe('transformer blocks'),
    width: z.number().int().min(1).describe('embedding width d (d=64: ≈110k parameters at 2 layers)'),
    heads: z.number().int().min(1).describe('attention heads; must divide width'),
    positions: z
      .enum(['learned', 'rope'])
      .default('learned')
      .describe(
        "'learned': a position embedding added to the input (GPT-2); 'rope': rotary positions applied to queries and keys (relative)",
      ),
    outputHead: z
      .enum(['tied', 'untied'])
      .optional()
      .describe(
        "'tied' (absent): logits = x · wteᵀ, the input embedding read back (GPT-2); 'untied': a matrix of its own, `wout` [d, vocab], so a token's input code and its output code may differ",
      ),
  }),
);

/** A model config as written (`positions` may be left out: learned). */
export type GptConfig = z.input<typeof GptConfigSchema>;
/** A model config with its defaults filled in. */
type ResolvedGptConfig = z.output<typeof GptConfigSchema>;

/** RoPE's base wavelength (RoFormer, Llama). */
const ROPE_BASE = 10_000;

/**
 * Rotary angle tables for positions `positions` (any shape `[...]`): cos and sin of `pos / ROPE_BASE^(2i/hd)` for the
 * hd/2 frequencies i, shape `[..., hd/2]`, row-major. The half-split layout (GPT-NeoX): lane i pairs with lane i + hd/2.
 */
export function ropeTables(positions: ArrayLike<number>, headDim: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let j = 0; j < positions.length; j++) {
    const pos = positions[j] as number;
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(ROPE_BASE, (-2 * i) / headDim);
      cos[j * half + i] = Math.cos(angle);
      sin[j * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** A tiny config for tests: learns toy tasks in seconds. */
export const TINY_CONFIG: GptConfig = { vocabSize: 16, contextLength: 16, layers: 1, width: 32, heads: 2 };

// -----------------------------------------------------------------------------------------------------------
// Parameters: one named, ordered list shared by init, checkpoints, the optimizer and the ONNX export.

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** How the parameter starts: N(0, 0.02), N(0, 0.02/√(2·layers)) for residual projections (GPT-2), 0 or 1. */
  readonly init: 'normal' | 'residual' | 'zeros' | 'ones';
  /** AdamW decays matrices (rank 2), not gains or biases, as nanoGPT. */
  readonly decay: boolean;
}

export function paramSpecs(c: GptConfig): ParamSpec[] {
  const d = c.width;
  const m = (name: string, shape: number[], init: ParamSpec['init'] = 'normal'): ParamSpec => ({
    name,
    shape,
    init,
    decay: true,
  });
  const v = (name: string, n: number, init: 'zeros' | 'ones'): ParamSpec => ({ name, shape: [n], init, decay: false });
  const specs: ParamSpec[] = [m('wte', [c.vocabSize, d])];
  if (GptConfigSchema.parse(c).positions === 'learned') specs.push(m('wpe', [c.contextLength, d]));
  for (let i = 0; i < c.layers; i++) {
    const h = `h${i}`;
    specs.push(
      v(`${h}.ln1.g`, d, 'ones'),
      v(`${h}.ln1.b`, d, 'zeros'),
      m(`${h}.attn.wqkv`, [d, 3 * d]),
      v(`${h}.attn.bqkv`, 3 * d, 'zeros'),
      m(`${h}.attn.wo`, [d, d], 'residual'),
      v(`${h}.attn.bo`, d, 'zeros'),
      v(`${h}.ln2.g`, d, 'ones'),
      v(`${h}.ln2.b`, d, 'zeros'),
      m(`${h}.mlp.wfc`, [d, 4 * d]),
      v(`${h}.mlp.bfc`, 4 * d, 'zeros'),
      m(`${h}.mlp.wproj`, [4 * d, d], 'residual'),
      v(`${h}.mlp.bproj`, d, 'zeros'),
    );
  }
  specs.push(v('lnf.g', d, 'ones'), v('lnf.b', d, 'zeros'));
  if (c.outputHead === 'untied') specs.push(m('wout', [d, c.vocabSize]));
  return specs;
}

/** One parameter's values, row-major. */
export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** All parameters in `paramSpecs` order. */
export type Weights = readonly NamedArray[];

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Seeded initial weights: every draw comes from `rng` (Box–Muller on its uniforms), in parameter order. */
export function initWeights(c: GptConfig, rng: Rng): Weights {
  const residualStd = 0.02 / Math.sqrt(2 * c.layers);
  return paramSpecs(c).map((spec) => {
    const data = new Float32Array(size(spec.shape));
    if (spec.init === 'ones') data.fill(1);
    if (spec.init === 'normal' || spec.init === 'residual') {
      const std = spec.init === 'normal' ? 0.02 : residualStd;
      for (let i = 0; i < data.length; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
        const theta = 2 * Math.PI * rng.next();
        data[i] = std * r * Math.cos(theta);
        if (i + 1 < data.length) data[i + 1] = std * r * Math.sin(theta);
      }
    }
    return { name: spec.name, shape: spec.shape, data };
  });
}

/** Check that `weights` has exactly the parameters of `c`, in order, with the right shapes. */
export function checkWeights(c: GptConfig, weights: Weights): void {
  const specs = paramSpecs(c);
  if (weights.length !== specs.length) throw new Error(`expected ${specs.length} parameters, got ${weights.length}`);
  specs.forEach((spec, i) => {
    const w = weights[i] as NamedArray;
    if (w.name !== spec.name) throw new Error(`parameter ${i}: expected '${spec.name}', got '${w.name}'`);
    if (w.shape.join('x') !== spec.shape.join('x'))
      throw new Error(`parameter '${spec.name}': shape ${w.shape.join('x')}, expected ${spec.shape.join('x')}`);
    if (w.data.length !== size(spec.shape))
      throw new Error(`parameter '${spec.name}': ${w.data.length} values for shape ${spec.shape.join('x')}`);
  });
}

// -----------------------------------------------------------------------------------------------------------
// The model

/** Keys and values of one layer for the positions seen so far: `[batch, heads, time, headDim]`. */
export interface LayerCache {
  readonly k: tf.Tensor4D;
  readonly v: tf.Tensor4D;
}

interface ForwardOptions {
  /** Keys/values of the earlier positions, one per layer (from a previous `forward` with `returnCache`). */
  readonly past?: readonly LayerCache[];
  readonly returnCache?: boolean;
  /** Logits of the last position only (= `tail: 1`). */
  readonly lastOnly?: boolean;
  /** Logits of the last `tail` positions only: the output head runs on those alone (a learner's completions). */
  readonly tail?: number;
}

interface ForwardOutput {
  /** `[batch, time, vocab]`, or `[batch, tail, vocab]` with `tail` (`[batch, 1, vocab]` with `lastOnly`). */
  readonly logits: tf.Tensor3D;
  /** With `returnCache`: keys/values for all positions (past + these), one per layer, to pass as `past`; else empty. */
  readonly present: LayerCache[];
}

export class Gpt {
  readonly config: ResolvedGptConfig;
  /** Parameters in `paramSpecs` order. */
  readonly params: readonly { readonly spec: ParamSpec; readonly variable: tf.Variable }[];
  private readonly byName: Map<string, tf.Variable>;
  /** Rotary cos/sin for positions 0 … contextLength − 1 (built on first use; `positions: rope` only). */
  private ropeTable: { cos: Float32Array; sin: Float32Array } | undefined;

  constructor(config: GptConfig, weights: Weights, options: { trainable?: boolean; name?: string } = {}) {
    this.config = GptConfigSchema.parse(config);
    checkWeights(this.config, weights);
    const trainable = options.trainable ?? true;
    const prefix = options.name ?? 'gpt';
    const specs = paramSpecs(this.config);
    this.params = specs.map((spec, i) => {
      const w = weights[i] as NamedArray;
      return {
        spec,
        variable: tf.variable(
          tf.tensor(w.data, [...w.shape], 'float32'),
          trainable,
          `${prefix}/${spec.name}/${uniqueId()}`,
        ),
      };
    });
    this.byName = new Map(this.params.map((p) => [p.spec.name, p.variable]));
  }

  /** A fresh model with seeded initial weights. */
  static init(config: GptConfig, rng: Rng): Gpt {
    return new Gpt(config, initWeights(config, rng));
  }

  get parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0);
  }

  private w(name: string): tf.Variable {
    const v = this.byName.get(name);
    if (v === undefined) throw new Error(`no parameter '${name}'`);
    return v;
  }
  private mat(name: string): tf.Tensor2D {
    return this.w(name) as tf.Tensor2D;
  }
  private vec(name: string): tf.Tensor1D {
    return this.w(name) as tf.Tensor1D;
  }

  /**
   * Logits for `tokens` given the keys/values of earlier positions (`past`, none for a fresh sequence).
   * - `tokens`, `positions`: int32 `[B, T]`; positions are per row (left padding does not shift them).
   * - `mask`: additive float32 `[B, 1, T, Tpast + T]`, 0 where a query may attend to a key and −1e9 elsewhere
   *   (causality and padding both live there; see layout.ts).
   * - `returnCache`: also return the keys/values of all positions (for incremental decoding; caller disposes).
   * - `lastOnly`: logits of the last position only (sampling needs nothing else); `tail`: of the last `tail` positions.
   */
  forward(tokens: tf.Tensor2D, positions: tf.Tensor2D, mask: tf.Tensor4D, options: ForwardOptions = {}): ForwardOutput {
    const { width: d } = this.config;
    const [B, T] = tokens.shape;
    const tail = options.lastOnly === true ? 1 : (options.tail ?? T);
    if (!Number.isInteger(tail) || tail < 1 || tail > T)
      throw new RangeError(`tail must be a whole number in [1, ${T}], got ${tail}`);
    const present: LayerCache[] = [];
    const logits = tf.tidy(() => {
      // token (+ learned position) embeddings, one row per (sequence, time): [B·T, d]
      const rope = this.config.positions === 'rope' ? this.rotary(positions) : undefined;
      let x = embed(tokens, this.mat('wte'));
      if (rope === undefined) x = tf.add(x, embed(positions, this.mat('wpe')));
      x = tf.reshape(x, [B * T, d]);
      for (let i = 0; i < this.config.layers; i++) {
        const h = `h${i}`;
        const attn = this.attention(
          layerNorm(x, this.vec(`${h}.ln1.g`), this.vec(`${h}.ln1.b`)),
          i,
          B,
          T,
          mask,
          options.past?.[i],
          rope,
        );
        if (options.returnCache === true) present.push({ k: tf.keep(attn.k), v: tf.keep(attn.v) });
        x = tf.add(x, attn.y);
        x = tf.add(x, this.mlp(layerNorm(x, this.vec(`${h}.ln2.g`), this.vec(`${h}.ln2.b`)), i));
      }
      if (tail < T) x = tf.reshape(tf.slice(tf.reshape(x, [B, T, d]), [0, T - tail, 0], [B, tail, d]), [B * tail, d]);
      x = layerNorm(x, this.vec('lnf.g'), this.vec('lnf.b'));
      // output head: tied, logits = x · wteᵀ; or untied, x · wout
      const out =
        this.config.outputHead === 'untied' ? matMul(x, this.mat('wout')) : matMul(x, tf.transpose(this.mat('wte')));
      return tf.reshape(out, [B, tail, this.config.vocabSize]) as tf.Tensor3D;
    });
    return { logits, present };
  }

  /**
   * cos/sin tables `[B, 1, T, hd/2]` for int32 `positions` `[B, T]` (constants: no gradient flows to them): rows of
   * the model's table over its context, computed once; a position past the context is computed on the spot.
   */
  private rotary(positions: tf.Tensor2D): Rotary {
    const [B, T] = positions.shape;
    const half = this.config.width / this.config.heads / 2;
    this.ropeTable ??= ropeTables(
      Array.from({ length: this.config.contextLength }, (_, j) => j),
      2 * half,
    );
    const table = this.ropeTable;
    const pos = positions.dataSync();
    const cos = new Float32Array(pos.length * half);
    const sin = new Float32Array(pos.length * half);
    for (let j = 0; j < pos.length; j++) {
      const p = pos[j] as number;
      const inTable = p >= 0 && p < this.config.contextLength;
      const rows = inTable ? table : ropeTables([p], 2 * half);
      const at = inTable ? p * half : 0;
      cos.set(rows.cos.subarray(at, at + half), j * half);
      sin.set(rows.sin.subarray(at, at + half), j * half);
    }
    return { cos: tf.tensor4d(cos, [B, 1, T, half]), sin: tf.tensor4d(sin, [B, 1, T, half]) };
  }

  /** Causal multi-head self-attention of block `i` on `x` `[B·T, d]`; returns its output and the full keys/values. */
  private attention(
    x: tf.Tensor,
    i: number,
    B: number,
    T: number,
    mask: tf.Tensor4D,
    past: LayerCache | undefined,
    rope: Rotary | undefined,
  ): { y: tf.Tensor; k: tf.Tensor4D; v: tf.Tensor4D } {
    const { width: d, heads: nh } = this.config;
    const hd = d / nh;
    const h = `h${i}`;
    const qkv = linear(x, this.mat(`${h}.attn.wqkv`), this.vec(`${h}.attn.bqkv`));
    const splitHeads = (t: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, T, nh, hd]), [0, 2, 1, 3]); // [B, nh, T, hd]
    let [q, kNew, vNew] = tf.split(qkv, 3, 1).map(splitHeads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    // rotary positions: queries and the new keys are rotated by their own position (cached keys already were)
    if (rope !== undefined) {
      q = rotate(q, rope);
      kNew = rotate(kNew, rope);
    }
    const k = past === undefined ? kNew : tf.concat([past.k, kNew], 2);
    const v = past === undefined ? vNew : tf.concat([past.v, vNew], 2);
    const Tk = k.shape[2];
    // scores = q·kᵀ/√hd + mask, then softmax over keys
    let att = matMul(tf.reshape(q, [B * nh, T, hd]), transposeLast(tf.reshape(k, [B * nh, Tk, hd])));
    att = tf.add(tf.reshape(tf.mul(att, 1 / Math.sqrt(hd)), [B, nh, T, Tk]), mask);
    att = tf.softmax(att, -1);
    let y = matMul(tf.reshape(att, [B * nh, T, Tk]), tf.reshape(v, [B * nh, Tk, hd]));
    y = tf.reshape(tf.transpose(tf.reshape(y, [B, nh, T, hd]), [0, 2, 1, 3]), [B * T, d]); // heads side by side
    return { y: linear(y, this.mat(`${h}.attn.wo`), this.vec(`${h}.attn.bo`)), k, v };
  }

  /** The position-wise MLP of block `i`: d → 4d → GELU → d. */
  private mlp(x: tf.Tensor, i: number): tf.Tensor {
    const h = `h${i}`;
    const hidden = gelu(linear(x, this.mat(`${h}.mlp.wfc`), this.vec(`${h}.mlp.bfc`)));
    return linear(hidden, this.mat(`${h}.mlp.wproj`), this.vec(`${h}.mlp.bproj`));
  }

  /** A copy of the current weights (safe to keep: later steps do not change it). */
  readWeights(): Weights {
    return this.params.map((p) => ({
      name: p.spec.name,
      shape: p.spec.shape,
      data: Float32Array.from(p.variable.dataSync() as Float32Array),
    }));
  }

  /** Overwrite every parameter (same config, names and shapes). */
  writeWeights(weights: Weights): void {
    checkWeights(this.config, weights);
    this.params.forEach((p, i) => {
      const w = weights[i] as NamedArray;
      tf.tidy(() => p.variable.assign(tf.tensor(w.data, [...w.shape], 'float32')));
    });
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** Rotary angle tables of one forward pass, `[B, 1, T, hd/2]`. */
interface Rotary {
  readonly cos: tf.Tensor4D;
  readonly sin: tf.Tensor4D;
}

/** `x` `[B, nh, T, hd]` rotated pairwise (lane i with lane i + hd/2) by the angles of its positions. */
function rotate(x: tf.Tensor4D, r: Rotary): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  return tf.concat(
    [tf.sub(tf.mul(x1, r.cos), tf.mul(x2, r.sin)), tf.add(tf.mul(x2, r.cos), tf.mul(x1, r.sin))],
    3,
  ) as tf.Tensor4D;
}

/** Frees a `present` cache returned by `forward`. */
export function disposeCache(cache: readonly LayerCache[]): void {
  for (const c of cache) {
    c.k.dispose();
    c.v.dispose();
  }
}

let nextId = 0;
function uniqueId(): number {
  return nextId++;
}
