// An async queue of fixed capacity between two actors: put waits while it is full, take waits while it is empty.
import { BehaviorSubject, distinctUntilChanged, map } from 'rxjs';
import type { Observable } from 'rxjs';
import { StallMeter } from './stallMeter.js';
import type { QueueStatus } from './queueStatus.js';

export interface BoundedQueueOptions {
  /** Name in `queue.depth` events. */
  name: string;
  /** Most items held at once (≥ 1). */
  capacity: number;
  /** Milliseconds, for producer stall time. */
  clock: () => number;
}

/** The queue was closed (no more puts; takes fail once it is empty). */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
}

interface Putter<T> {
  item: T;
  resolve: () => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

interface Taker<T> {
  resolve: (item: T) => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

/**
 * The bound that XState mailboxes and `mergeMap` lack. A producer `await`s `put(item)`, which returns at once
 * while there is room and otherwise waits (FIFO) until a consumer takes — so a producer that awaits its puts is
 * paused by a slow consumer, and the queue never holds more than `capacity` items (each waiting producer holds
 * its one item besides). Time producers spend waiting is stall time; depth and stall are on `status$`.
 *
 * `close()` ends production: waiting and later puts reject with {@link QueueClosedError}, takes drain what is
 * left and then reject with it, and `for await` ends. `abort(reason)` drops the items and fails every waiter.
 *
 * @example
 * const tasks = new BoundedQueue<Task>({ name: 'proposer→executor', capacity: 8, clock });
 * (async () => { for (const t of proposals) await tasks.put(t); tasks.close(); })();
 * for await (const task of tasks) await validate(task);
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly name: string;
  readonly capacity: number;
  readonly status$: Observable<QueueStatus>;
  readonly depth$: Observable<number>;
  private readonly items: T[] = [];
  private readonly putters: Putter<T>[] = [];
  private readonly takers: Taker<T>[] = [];
  private readonly stall: StallMeter;
  private readonly statusSubject: BehaviorSubject<QueueStatus>;
  private closed = false;
  private failure: { reason: unknown } | null = null;

  constructor(options: BoundedQueueOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1)
      throw new RangeError(`${options.name}: capacity must be an integer ≥ 1, got ${options.capacity}`);
    this.name = options.name;
    this.capacity = options.capacity;
    this.stall = new StallMeter(options.clock);
    this.statusSubject = new BehaviorSubject(this.status());
    this.status$ = this.statusSubject.asObservable();
    this.depth$ = this.status$.pipe(
      map((s) => s.depth),
      distinctUntilChanged(),
    );
  }

  /** Items held now. */
  get depth(): number {
    return this.items.length;
  }

  /** Adds an item, waiting while the queue is full. */
  put(item: T, signal?: AbortSignal): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure.reason);
    if (this.closed) return Promise.reject(new QueueClosedError(`${this.name}: put after close`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryPut(item)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        if (this.remove(this.putters, putter)) this.stall.end();
        this.publish();
        reject(signal?.reason);
      };
      const putter: Putter<T> = { item, resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.putters.push(putter);
      this.stall.begin();
      this.publish();
    });
  }

  /** Adds an item if there is room now (and no earlier producer is waiting); false otherwise. */
  tryPut(item: T): boolean {
    if (this.closed || this.putters.length > 0) return false;
    const taker = this.takers.shift();
    if (taker !== undefined) {
      taker.detach();
      taker.resolve(item);
      return true;
    }
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    this.publish();
    return true;
  }

  /** Removes the oldest item, waiting while the queue is empty. */
  take(signal?: AbortSignal): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure.reason);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const taken = this.drain(1);
    if (taken.length === 1) return Promise.resolve(taken[0] as T);
    if (this.closed) return Promise.reject(new QueueClosedError(`${this.name}: closed and empty`));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.remove(this.takers, taker);
        reject(signal?.reason);
      };
      const taker: Taker<T> = { resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.takers.push(taker);
    });
  }

  /** Removes up to `max` items that are there now, without waiting (a learner filling a batch). */
  drain(max = Number.POSITIVE_INFINITY): T[] {
    const out: T[] = [];
    while (out.length < max && this.items.length > 0) {
      out.push(this.items.shift() as T);
      // Room opened: the longest-waiting producer's item moves in.
      const putter = this.putters.shift();
      if (putter !== undefined) {
        putter.detach();
        this.items.push(putter.item);
        this.stall.end();
        putter.resolve();
      }
    }
    if (out.length > 0) this.publish();
    return out;
  }

  /** No more puts: waiting producers reject; consumers take what is left, then get {@link QueueClosedError}. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new QueueClosedError(`${this.name}: closed`);
    for (const putter of this.putters.splice(0)) {
      putter.detach();
      this.stall.end();
      putter.reject(error);
    }
    // Takers only wait on an empty queue, which now stays empty.
    for (const taker of this.takers.splice(0)) {
      taker.detach();
      taker.reject(new QueueClosedError(`${this.name}: closed and empty`));
    }
    this.publish();
  }

  /** Drops the items and fails every waiting and later call with `reason`. */
  abort(reason: unknown = new QueueClosedError(`${this.name}: aborted`)): void {
    if (this.failure !== null) return;
    this.failure = { reason };
    this.closed = true;
    this.items.length = 0;
    for (const putter of this.putters.splice(0)) {
      putter.detach();
      this.stall.end();
      putter.reject(reason);
    }
    for (const taker of this.takers.splice(0)) {
      taker.detach();
      taker.reject(reason);
    }
    this.publish();
  }

  status(): QueueStatus {
    return {
      queue: this.name,
      depth: this.items.length,
      capacity: this.capacity,
      credit: null,
      stallMs: this.stall.totalMs(),
      waiting: this.stall.waiting,
    };
  }

  /** Takes items until the queue is closed and empty; an abort rethrows its reason. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      try {
        yield await this.take();
      } catch (error) {
        if (error instanceof QueueClosedError && this.failure === null) return;
        throw error;
      }
    }
  }

  private remove<W>(list: W[], waiter: W): boolean {
    const i = list.indexOf(waiter);
    if (i >= 0) list.splice(i, 1);
    return i >= 0;
  }

  private publish(): void {
    this.statusSubject.next(this.status());
  }
}
