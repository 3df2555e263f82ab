// The feed's memory of the latest run events: bridges the part of events.jsonl still in the writer's buffer.
import type { FeedEvent } from './sendQueue.js';

/**
 * The last `capacity` events the feed received, contiguous in seq. A client catching up reads events.jsonl until
 * the seq it needs is held here, then takes the rest from here and switches to live delivery in the same turn of
 * the event loop, so nothing is missed and nothing repeated. The capacity must cover what the log writer may hold
 * unwritten (its `bufferBytes`, 64 KiB by default, is far less than 4096 events of ≥ 70 bytes each).
 */
export class RecentEvents {
  private readonly slots: (FeedEvent | undefined)[];
  private start = 0; // index of the oldest event
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
    this.slots = new Array<FeedEvent | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Seq of the oldest event held, or null when empty. */
  get firstSeq(): number | null {
    return this.count === 0 ? null : this.slots[this.start]!.seq;
  }

  /**
   * Appends the next event, evicting the oldest when full. An event that does not follow the last one (which a bus
   * never produces) starts the memory afresh, so what is held stays contiguous.
   */
  push(event: FeedEvent): void {
    if (this.count > 0 && event.seq !== this.slots[(this.start + this.count - 1) % this.capacity]!.seq + 1) {
      this.start = 0;
      this.count = 0;
    }
    if (this.count < this.capacity) {
      this.slots[(this.start + this.count) % this.capacity] = event;
      this.count += 1;
    } else {
      this.slots[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** True when the event with this seq is held. */
  has(seq: number): boolean {
    const first = this.firstSeq;
    return first !== null && seq >= first && seq < first + this.count;
  }

  /** Up to `max` events from `seq` on (empty when `seq` is not held). */
  from(seq: number, max: number): FeedEvent[] {
    if (!this.has(seq)) return [];
    const offset = seq - this.firstSeq!;
    const n = Math.min(max, this.count - offset);
    const out = new Array<FeedEvent>(n);
    for (let i = 0; i < n; i++) out[i] = this.slots[(this.start + offset + i) % this.capacity]!;
    return out;
  }
}
