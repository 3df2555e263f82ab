// Toy tasks and constraints shared by the src/gpu tests (not a test file itself).

import { Rng } from '../../src/azr/rng.js';
import type { TokenConstraint } from '../../src/gpu/sampler.js';

/** Toy vocabulary: 0 pad, 1 BOS, 2 SEP, 3 END, then value tokens. */
export const BOS = 1;
export const SEP = 2;
export const END = 3;
export const FIRST_VALUE = 4;

/** Allows exactly the listed sets in turn, then is done. */
export class ScriptConstraint implements TokenConstraint {
  private step = 0;
  constructor(private readonly sets: readonly (readonly number[])[]) {}
  allowed(): number[] {
    const set = this.sets[this.step];
    if (set === undefined) throw new Error('allowed() after done');
    return [...set];
  }
  advance(): void {
    this.step++;
  }
  done(): boolean {
    return this.step >= this.sets.length;
  }
}

/** "Answer a value, then END": the copy task's grammar. */
export function valueThenEnd(values: number): ScriptConstraint {
  return new ScriptConstraint([Array.from({ length: values }, (_, i) => FIRST_VALUE + i), [END]]);
}

/**
 * A pseudo-random grammar: the allowed set after a prefix is a hash of the prefix (never empty), and the
 * sequence is done once the prefix hash says so (at least 1, at most `maxLength` tokens).
 */
export class HashConstraint implements TokenConstraint {
  private readonly prefix: number[] = [];
  constructor(
    private readonly vocab: number,
    private readonly seed: number,
    private readonly maxLength: number,
  ) {}
  private rng(): Rng {
    return new Rng(`${this.seed}:${this.prefix.join(',')}`);
  }
  allowed(): number[] {
    const rng = this.rng();
    const ids = Array.from({ length: this.vocab }, (_, i) => i).filter(() => rng.chance(0.3));
    return ids.length > 0 ? ids : [rng.int(this.vocab)];
  }
  advance(token: number): void {
    this.prefix.push(token);
  }
  done(): boolean {
    if (this.prefix.length === 0) return false;
    if (this.prefix.length >= this.maxLength) return true;
    return this.rng().chance(0.2);
  }
}
