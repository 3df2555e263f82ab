// Producer stall time: how long at least one producer has been waiting for room in a queue, from an injected clock.

/**
 * Accumulates the time during which one or more producers were waiting. Overlapping waits count once: the
 * figure answers "for how long was the producer side held back", not "how many producer-milliseconds".
 *
 * @example
 * const stall = new StallMeter(() => performance.now());
 * stall.begin(); // a producer starts waiting
 * stall.end();   // …and is let through
 * stall.totalMs();
 */
export class StallMeter {
  private waitingCount = 0;
  private since = 0;
  private accumulated = 0;

  constructor(private readonly clock: () => number) {}

  /** Producers waiting now. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** A producer starts waiting. */
  begin(): void {
    if (this.waitingCount === 0) this.since = this.clock();
    this.waitingCount += 1;
  }

  /** A waiting producer stops waiting (let through, aborted or rejected). */
  end(): void {
    if (this.waitingCount === 0) throw new Error('StallMeter.end() without a matching begin()');
    this.waitingCount -= 1;
    if (this.waitingCount === 0) this.accumulated += Math.max(0, this.clock() - this.since);
  }

  /** Total stall time so far, including a wait still in progress. */
  totalMs(): number {
    return this.accumulated + (this.waitingCount > 0 ? Math.max(0, this.clock() - this.since) : 0);
  }
}
