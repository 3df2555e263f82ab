// A credit-regulated channel: pull-driven producers reserve room before producing; the consumer grants credit.
import { BehaviorSubject, Subject } from 'rxjs';
import type { Observable } from 'rxjs';
import { credit } from './credit.js';
import type { CreditStatus } from './credit.js';
import { StallMeter } from './stallMeter.js';
import type { QueueStatus } from './queueStatus.js';

interface CreditChannelOptions {
  /** Name in `queue.depth` events. */
  name: string;
  /** Items the channel may hold beyond the consumer's credit. 0: producers only ever produce against credit. */
  capacity: number;
  /** Milliseconds, for producer stall time. */
  clock: () => number;
}

/** The right to send one item, obtained before producing it. Use it exactly once: push the item or release it. */
export interface Reservation<T> {
  push(item: T): void;
  /** Gives the room back unused (the producer failed or was stopped). */
  release(): void;
}

/** The channel was closed or aborted: no more reservations. */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
}

interface Waiter<T> {
  resolve: (reservation: Reservation<T>) => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

/**
 * Backpressure between producers (proposer, solver, executor) and the learner, made of the {@link credit}
 * operator plus a semaphore that keeps producers from ever running ahead of it.
 *
 * A producer calls `await channel.reserve()` *before* it produces an item, then `reservation.push(item)`. The
 * channel hands out `capacity + total granted` reservations in all, so at most `capacity` items ever wait for
 * credit; when none is left, `reserve()` waits (FIFO) and that wait is producer stall time. The consumer
 * subscribes to `output$` and calls `grant(n)` for each n items it is ready to take; items are delivered in push
 * order, never more than granted. Depth, credit and stall time are on `status$` / `status()` for `queue.depth`.
 *
 * Shutdown: `close()` refuses new reservations and completes `output$` once the reservations already handed
 * out are settled and the held items delivered; `abort(reason)` fails waiting producers and errors `output$`.
 *
 * @example
 * const scored = new CreditChannel<ScoredRollout>({ name: 'scored→learner', capacity: 64, clock });
 * scored.output$.subscribe((rollout) => learner.send({ type: 'rollout', rollout }));
 * scored.grant(batchSize);                  // learner: ready for one batch
 * const slot = await scored.reserve();      // producer: waits while the learner is behind
 * slot.push(await scoreRollout(task));
 */
export class CreditChannel<T> {
  readonly output$: Observable<T>;
  readonly status$: Observable<QueueStatus>;
  readonly name: string;
  readonly capacity: number;
  private readonly input = new Subject<T>();
  private readonly grants = new Subject<number>();
  private readonly output = new Subject<T>();
  private readonly statusSubject: BehaviorSubject<QueueStatus>;
  private readonly stall: StallMeter;
  private readonly waiters: Waiter<T>[] = [];
  private operator: CreditStatus;
  private permits: number;
  private outstanding = 0;
  private closed = false;
  /** `output$` has completed or errored: nothing more will be delivered. */
  private ended = false;

  constructor(options: CreditChannelOptions) {
    this.name = options.name;
    this.capacity = options.capacity;
    this.permits = options.capacity;
    this.stall = new StallMeter(options.clock);
    this.operator = { depth: 0, credit: 0, capacity: options.capacity };
    this.statusSubject = new BehaviorSubject(this.status());
    this.status$ = this.statusSubject.asObservable();
    this.output$ = this.output.asObservable();
    // Subscribed at once, so held items and credit live in the channel, not in whoever subscribes later.
    this.input
      .pipe(
        credit(this.grants, {
          capacity: options.capacity,
          onStatus: (status) => {
            this.operator = status;
            this.publish();
          },
        }),
      )
      .subscribe({
        next: (item) => this.output.next(item),
        error: (error: unknown) => {
          this.ended = true;
          this.output.error(error);
        },
        complete: () => {
          this.ended = true;
          this.output.complete();
        },
      });
  }

  /** Waits for room for one item; rejects with {@link ChannelClosedError} once closed, or the signal's reason. */
  reserve(signal?: AbortSignal): Promise<Reservation<T>> {
    if (this.closed) return Promise.reject(new ChannelClosedError(`${this.name}: channel is closed`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.tryReserve();
    if (now !== null) return Promise.resolve(now);
    return new Promise<Reservation<T>>((resolve, reject) => {
      const onAbort = () => {
        this.removeWaiter(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter<T> = { resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.stall.begin();
      this.publish();
    });
  }

  /** A reservation if there is room now and no producer is already waiting, else null. */
  tryReserve(): Reservation<T> | null {
    if (this.closed || this.permits === 0 || this.waiters.length > 0) return null;
    return this.take();
  }

  /**
   * The consumer is ready for `n` more items. Subscribe to `output$` first: items are not kept for late
   * subscribers. A no-op once `output$` has ended.
   */
  grant(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new RangeError(`${this.name}: a grant must be an integer ≥ 0, got ${n}`);
    if (this.ended) return;
    if (!this.output.observed) throw new Error(`${this.name}: grant() with no subscriber on output$ would lose items`);
    this.permits += n;
    this.grants.next(n);
    this.wake();
  }

  /** No more reservations; `output$` completes once the ones handed out are settled and held items delivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectWaiters(new ChannelClosedError(`${this.name}: channel closed`));
    this.completeIfSettled();
  }

  /** Stops everything: waiting producers reject with `reason`, `output$` errors with it, held items are dropped. */
  abort(reason: unknown = new ChannelClosedError(`${this.name}: channel aborted`)): void {
    this.closed = true;
    this.rejectWaiters(reason);
    this.input.error(reason);
  }

  status(): QueueStatus {
    return {
      queue: this.name,
      depth: this.operator.depth,
      capacity: this.capacity,
      credit: this.operator.credit,
      stallMs: this.stall.totalMs(),
      waiting: this.stall.waiting,
    };
  }

  private take(): Reservation<T> {
    this.permits -= 1;
    this.outstanding += 1;
    let used = false;
    const settle = (what: string) => {
      if (used) throw new Error(`${this.name}: reservation already used (${what})`);
      used = true;
      this.outstanding -= 1;
    };
    return {
      push: (item) => {
        settle('push');
        this.input.next(item);
        this.completeIfSettled();
      },
      release: () => {
        settle('release');
        this.permits += 1;
        this.wake();
        this.completeIfSettled();
      },
    };
  }

  private wake(): void {
    while (this.permits > 0 && !this.closed) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) break;
      waiter.detach();
      this.stall.end();
      waiter.resolve(this.take());
    }
    this.publish();
  }

  private removeWaiter(waiter: Waiter<T>): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    waiter.detach();
    this.stall.end();
    this.publish();
  }

  private rejectWaiters(reason: unknown): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter.detach();
      this.stall.end();
      waiter.reject(reason);
    }
    this.publish();
  }

  private completeIfSettled(): void {
    if (this.closed && this.outstanding === 0) this.input.complete();
  }

  private publish(): void {
    this.statusSubject.next(this.status());
  }
}
