// The seeded PRNG: all randomness in azr flows from the scenario seed through one of these.

/** Serializable state of an {@link Rng} (four 32-bit words), kept in checkpoints. */
export type RngState = readonly [number, number, number, number];

/** 32-bit FNV-1a of a string: turns a split label or a string seed into a number. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** SplitMix32: spreads one 32-bit seed into well-mixed words for the generator state. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, passes PractRand to
 * multiple TB, and its state is four numbers, so snapshots are trivial. `split(label)` derives an
 * independent child stream (one per actor, per purpose) from this stream's state and the label, without
 * advancing the parent: adding a consumer never shifts the draws of the others.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string | RngState) {
    if (Array.isArray(seed)) {
      [this.a, this.b, this.c, this.d] = (seed as RngState).map((x) => x >>> 0) as unknown as [
        number,
        number,
        number,
        number,
      ];
      return;
    }
    const mix = splitmix32(typeof seed === 'string' ? fnv1a(seed) : hashNumber(seed as number));
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick on an empty array');
    return items[this.int(items.length)] as T;
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    if (!(total > 0)) throw new RangeError('Rng.weighted needs a positive total weight');
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** An independent child stream named `label`; the parent's sequence is not advanced. */
  split(label: string): Rng {
    const mix = splitmix32((fnv1a(label) ^ this.a ^ Math.imul(this.b, 0x9e3779b1) ^ this.c ^ this.d) >>> 0);
    const child = new Rng([mix() ^ this.d, mix() ^ this.c, mix() ^ this.b, mix() ^ this.a]);
    for (let i = 0; i < 12; i++) child.nextUint32();
    return child;
  }

  /** The state, to restore this exact stream later with `new Rng(state)`. */
  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }
}

function hashNumber(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
  return Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32 ? seed : fnv1a(String(seed));
}
