// AdamW written out (Loshchilov & Hutter 2019), so its state is ours to checkpoint; plus global gradient-norm clipping.
//
// Both run as plain loops over Float32Arrays on the thread that steps: a model of ~10⁵ parameters updates in about a
// millisecond that way, where ~300 small tensor ops took 8–37 ms — time in which data-parallel gradient threads
// (gradientWorkers.ts) would wait for the main one.

import * as tf from '@tensorflow/tfjs';
import type { NamedArray, ParamSpec, Weights } from './model.js';

interface AdamWConfig {
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
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/**
 * For each parameter p with gradient g, at step t (from 1):
 *   m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
 *   p ← p − lr·( m/(1−β1ᵗ) / (√(v/(1−β2ᵗ)) + ε) ) − lr·wd·p      (wd only where the spec decays)
 * computed in float64 per element and stored as float32 (moments and weights), so a restored optimizer repeats the
 * same arithmetic bit for bit.
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
      m: new Float32Array(variable.size),
      v: new Float32Array(variable.size),
    }));
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.t;
  }

  /** One update from `grads` (same order as the parameters; already clipped), each scaled by `scale` first. */
  apply(grads: readonly Float32Array[], scale = 1): void {
    if (grads.length !== this.slots.length)
      throw new Error(`expected ${this.slots.length} gradients, got ${grads.length}`);
    this.slots.forEach((slot, i) => {
      if (grads[i]!.length !== slot.m.length)
        throw new Error(
          `gradient ${i} ('${slot.spec.name}') has ${grads[i]!.length} values, expected ${slot.m.length}`,
        );
    });
    this.t += 1;
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    for (const [i, slot] of this.slots.entries()) {
      const g = grads[i]!;
      const { m, v } = slot;
      const p = Float32Array.from(slot.param.dataSync() as Float32Array);
      const decay = slot.spec.decay ? lr * weightDecay : 0;
      for (let j = 0; j < p.length; j++) {
        const gj = (g[j] as number) * scale;
        const mj = beta1 * (m[j] as number) + (1 - beta1) * gj;
        const vj = beta2 * (v[j] as number) + (1 - beta2) * gj * gj;
        m[j] = mj;
        v[j] = vj;
        const pj = p[j] as number;
        p[j] = pj - lr * (mj / c1 / (Math.sqrt(vj / c2) + eps)) - decay * pj;
      }
      tf.tidy(() => slot.param.assign(tf.tensor(p, slot.param.shape, 'float32')));
    }
  }

  /** A copy of the state (moments in parameter order). */
  state(): AdamWState {
    const read = (pick: (s: Slot) => Float32Array): NamedArray[] =>
      this.slots.map((s) => ({ name: s.spec.name, shape: s.spec.shape, data: Float32Array.from(pick(s)) }));
    return { step: this.t, m: read((s) => s.m), v: read((s) => s.v) };
  }

  /** Restore a state taken with `state()` from an optimizer over the same parameters. */
  load(state: AdamWState): void {
    const check = (arrays: Weights, what: string): void => {
      if (arrays.length !== this.slots.length)
        throw new Error(`optimizer ${what}: expected ${this.slots.length} arrays, got ${arrays.length}`);
      arrays.forEach((a, i) => {
        const s = this.slots[i] as Slot;
        if (a.name !== s.spec.name || a.data.length !== s.param.size)
          throw new Error(`optimizer ${what}[${i}] '${a.name}' does not match parameter '${s.spec.name}'`);
      });
    };
    check(state.m, 'm');
    check(state.v, 'v');
    this.slots.forEach((s, i) => {
      s.m.set((state.m[i] as NamedArray).data);
      s.v.set((state.v[i] as NamedArray).data);
    });
    this.t = state.step;
  }

  /** Nothing to free (the moments are plain arrays); kept so owners release an optimizer the same way as before. */
  dispose(): void {}
}

/**
 * Global L2 norm of `grads` (float64 sum) and the factor min(1, maxNorm / (norm + 1e-6)) that clips them to it
 * (pass it to `AdamW.apply`). The arrays are not changed.
 */
export function clipByGlobalNorm(grads: readonly Float32Array[], maxNorm: number): { scale: number; norm: number } {
  let sum = 0;
  for (const g of grads) for (let j = 0; j < g.length; j++) sum += (g[j] as number) * (g[j] as number);
  const norm = Math.sqrt(sum);
  const scale = Number.isFinite(maxNorm) ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  return { scale, norm };
}
