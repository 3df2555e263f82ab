// AdamW written out (Loshchilov & Hutter 2019), so its state is ours to checkpoint; plus global gradient-norm clipping.

import * as tf from '@tensorflow/tfjs';
import type { NamedArray, ParamSpec, Weights } from './model.js';

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Decoupled weight decay, applied as p ← p − lr·wd·p to parameters whose spec says `decay`. */
  readonly weightDecay: number;
}

/** Everything needed to continue exactly: the step count (for bias correction) and both moment estimates. */
export interface AdamWState {
  readonly step: number;
  readonly m: Weights;
  readonly v: Weights;
}

interface Slot {
  readonly spec: ParamSpec;
  readonly param: tf.Variable;
  readonly m: tf.Variable;
  readonly v: tf.Variable;
}

/**
 * For each parameter p with gradient g, at step t (from 1):
 *   m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
 *   p ← p − lr·( m/(1−β1ᵗ) / (√(v/(1−β2ᵗ)) + ε) ) − lr·wd·p      (wd only where the spec decays)
 * The bias corrections are computed in float64 in JS, so a restored optimizer repeats the same arithmetic.
 */
export class AdamW {
  private readonly slots: Slot[];
  private t = 0;

  constructor(
    params: readonly { readonly spec: ParamSpec; readonly variable: tf.Variable }[],
    public config: AdamWConfig,
  ) {
    this.slots = params.map(({ spec, variable }) => ({
      spec,
      param: variable,
      m: tf.variable(tf.zerosLike(variable), false),
      v: tf.variable(tf.zerosLike(variable), false),
    }));
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.t;
  }

  /** One update from `grads` (same order as the parameters; already clipped). */
  apply(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.slots.length) throw new Error(`expected ${this.slots.length} gradients, got ${grads.length}`);
    this.t += 1;
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    tf.tidy(() => {
      this.slots.forEach((slot, i) => {
        const g = grads[i] as tf.Tensor;
        const m = tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        let next = tf.sub(slot.param, tf.mul(update, lr));
        if (slot.spec.decay && weightDecay !== 0) next = tf.sub(next, tf.mul(slot.param, lr * weightDecay));
        slot.m.assign(m);
        slot.v.assign(v);
        slot.param.assign(next);
      });
    });
  }

  /** A copy of the state (moments in parameter order). */
  state(): AdamWState {
    const read = (pick: (s: Slot) => tf.Variable): NamedArray[] =>
      this.slots.map((s) => ({ name: s.spec.name, shape: s.spec.shape, data: Float32Array.from(pick(s).dataSync() as Float32Array) }));
    return { step: this.t, m: read((s) => s.m), v: read((s) => s.v) };
  }

  /** Restore a state taken with `state()` from an optimizer over the same parameters. */
  load(state: AdamWState): void {
    const check = (arrays: Weights, what: string): void => {
      if (arrays.length !== this.slots.length) throw new Error(`optimizer ${what}: expected ${this.slots.length} arrays, got ${arrays.length}`);
      arrays.forEach((a, i) => {
        const s = this.slots[i] as Slot;
        if (a.name !== s.spec.name || a.data.length !== s.param.size) throw new Error(`optimizer ${what}[${i}] '${a.name}' does not match parameter '${s.spec.name}'`);
      });
    };
    check(state.m, 'm');
    check(state.v, 'v');
    this.slots.forEach((s, i) => {
      tf.tidy(() => {
        s.m.assign(tf.tensor((state.m[i] as NamedArray).data, s.param.shape, 'float32'));
        s.v.assign(tf.tensor((state.v[i] as NamedArray).data, s.param.shape, 'float32'));
      });
    });
    this.t = state.step;
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}

/**
 * Global L2 norm of `grads` and the grads scaled by min(1, maxNorm / (norm + 1e-6)). Returns new tensors
 * (caller disposes) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { clipped: tf.Tensor[]; norm: number } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.mul(g, g))))).dataSync()[0] as number);
  const scale = Number.isFinite(maxNorm) ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  const clipped = grads.map((g) => tf.tidy(() => (scale === 1 ? tf.clone(g) : tf.mul(g, scale))));
  return { clipped, norm };
}
