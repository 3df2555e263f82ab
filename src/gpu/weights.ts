// The weight board: the learner publishes versioned weight snapshots, rollout engines read the newest before each batch.

import type { Weights } from './model.js';

interface PublishedWeights {
  /** The learner's step count when published (0 = initial or restored weights). */
  readonly version: number;
  /** Immutable snapshot (the learner hands over copies). */
  readonly weights: Weights;
}

/** Holds the newest published weights; versions only go up. */
export class WeightBoard {
  private current: PublishedWeights | null = null;
  private readonly listeners = new Set<(published: PublishedWeights) => void>();

  publish(version: number, weights: Weights): void {
    if (!Number.isInteger(version) || version < 0)
      throw new RangeError(`a weight version is a non-negative integer, got ${version}`);
    if (this.current !== null && version <= this.current.version)
      throw new Error(`weight version ${version} is not newer than ${this.current.version}`);
    this.current = { version, weights };
    for (const listener of this.listeners) listener(this.current);
  }

  /** The newest weights, or null before the first publish. */
  latest(): PublishedWeights | null {
    return this.current;
  }

  /** Called on every publish; returns an unsubscribe function. */
  subscribe(listener: (published: PublishedWeights) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
