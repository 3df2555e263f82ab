// The `credit` operator: forwards items only against credit granted by the consumer, holding at most `capacity` in between.
import { Observable } from 'rxjs';
import type { MonoTypeOperatorFunction } from 'rxjs';

/** The state of a {@link credit} operator after a change. */
export interface CreditStatus {
  /** Items held, waiting for credit; never above `capacity`. */
  depth: number;
  /** Credit granted and not yet used; positive only while nothing is held. */
  credit: number;
  capacity: number;
}

interface CreditConfig {
  /** Items the operator may hold while there is no credit. 0 means none: every item needs credit on arrival. */
  capacity: number;
  /** Called after every change of depth or credit (to become `queue.depth` events). */
  onStatus?: (status: CreditStatus) => void;
}

/** The producer sent an item with no credit and a full buffer: it did not wait for room, so the bound held by refusing. */
export class CreditOverflowError extends Error {
  override readonly name = 'CreditOverflowError';
  constructor(readonly capacity: number) {
    super(`credit: an item arrived with no credit and ${capacity} item(s) already held; producers must wait for room`);
  }
}

/**
 * Forwards source items only as far as the consumer has granted credit: each forwarded item uses one credit,
 * each value of `grants` adds that many. Items that arrive without credit are held, in order, in a buffer of
 * fixed `capacity`; one arriving when the buffer is full errors the output with {@link CreditOverflowError}
 * rather than growing it — a push-based source cannot be paused, so the producer has to be pull-driven (wait for
 * room before producing; {@link CreditChannel} does that) and this operator is the bound that proves it did.
 *
 * So, over the life of the subscription, at most `capacity + total granted` items are ever accepted, at most
 * `total granted` are forwarded, and forwarding happens at the moment both an item and a credit exist.
 *
 * - The source completing: the output completes once the held items have been forwarded.
 * - The source erroring: the error is forwarded at once; held items are discarded.
 * - `grants` completing: the consumer will grant no more, so once its remaining credit is used (at once if it
 *   has none) the output completes and the source is unsubscribed; held items are discarded.
 * - `grants` erroring, or a grant that is not an integer ≥ 0: the output errors.
 *
 * @example
 * import { Subject, interval, take } from 'rxjs';
 * import { credit } from './credit.js';
 *
 * const grants = new Subject<number>();
 * interval(10).pipe(take(3), credit(grants, { capacity: 4 })).subscribe((i) => console.log('got', i));
 * setTimeout(() => grants.next(2), 50); // logs "got 0", "got 1"; 2 stays held until the next grant
 */
export function credit<T>(grants: Observable<number>, config: CreditConfig): MonoTypeOperatorFunction<T> {
  const { capacity, onStatus } = config;
  if (!Number.isSafeInteger(capacity) || capacity < 0)
    throw new RangeError(`credit: capacity must be an integer ≥ 0, got ${capacity}`);

  return (source) =>
    new Observable<T>((subscriber) => {
      const held: T[] = [];
      let available = 0;
      let sourceDone = false;
      let grantsDone = false;
      let draining = false;

      const report = () => onStatus?.({ depth: held.length, credit: available, capacity });

      // Trampolined: a downstream that grants (or an upstream that pushes) synchronously from inside `next`
      // re-enters here; the outer loop picks the change up, so order is kept and the stack stays flat.
      const drain = () => {
        if (draining) return;
        draining = true;
        try {
          while (available > 0 && held.length > 0 && !subscriber.closed) {
            available -= 1;
            subscriber.next(held.shift() as T);
          }
        } finally {
          draining = false;
        }
        if (subscriber.closed) return;
        report();
        if (sourceDone && held.length === 0) subscriber.complete();
        else if (grantsDone && available === 0) subscriber.complete();
      };

      const grantSubscription = grants.subscribe({
        next: (n) => {
          if (!Number.isSafeInteger(n) || n < 0) {
            subscriber.error(new RangeError(`credit: a grant must be an integer ≥ 0, got ${n}`));
            return;
          }
          available += n;
          drain();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          grantsDone = true;
          drain();
        },
      });

      // A consumer that is already done (grants completed with no credit) never starts the producer.
      if (subscriber.closed) return () => grantSubscription.unsubscribe();

      const sourceSubscription = source.subscribe({
        next: (value) => {
          // Items owed to outstanding credit will leave at once; only the rest must fit in the buffer.
          if (held.length - available >= capacity) {
            subscriber.error(new CreditOverflowError(capacity));
            return;
          }
          held.push(value);
          drain();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });

      return () => {
        sourceSubscription.unsubscribe();
        grantSubscription.unsubscribe();
      };
    });
}
