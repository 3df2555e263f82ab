import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue, QueueClosedError } from '../../src/streams/boundedQueue.js';

function fakeClock() {
  let now = 0;
  return { clock: () => now, advance: (ms: number) => void (now += ms) };
}

/** Lets every pending promise continuation run (no timers, no wall clock). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled yet. */
function watch<T>(promise: Promise<T>) {
  const state = { settled: false };
  promise.then(
    () => void (state.settled = true),
    () => void (state.settled = true),
  );
  return state;
}

const queue = <T>(capacity: number, clock = fakeClock().clock) => new BoundedQueue<T>({ name: 'q', capacity, clock });

describe('BoundedQueue', () => {
  it('hands items out first in, first out', async () => {
    const q = queue<number>(3);
    await q.put(1);
    await q.put(2);
    expect(await q.take()).toBe(1);
    await q.put(3);
    expect(q.drain()).toEqual([2, 3]);
  });

  it('makes put wait while full, and lets it in when an item is taken', async () => {
    const q = queue<string>(1);
    await q.put('a');
    const second = watch(q.put('b'));
    await settle();
    expect(second.settled).toBe(false);
    expect(q.depth).toBe(1);

    expect(await q.take()).toBe('a');
    await settle();

    expect(second.settled).toBe(true);
    expect(q.drain()).toEqual(['b']);
  });

  it('makes take wait while empty, and hands a put straight to it', async () => {
    const q = queue<string>(1);
    const taking = q.take();
    const state = watch(taking);
    await settle();
    expect(state.settled).toBe(false);
    await q.put('x');
    expect(await taking).toBe('x');
    expect(q.depth).toBe(0);
  });

  it('pauses a fast producer behind a slow consumer: never more than capacity items queued', async () => {
    const time = fakeClock();
    const capacity = 3;
    const q = queue<number>(capacity, time.clock);
    let maxDepth = 0;
    q.depth$.subscribe((d) => void (maxDepth = Math.max(maxDepth, d)));
    let created = 0;
    let consumed = 0;
    let maxInMemory = 0;
    const producer = (async () => {
      for (let i = 0; i < 300; i++) {
        created += 1;
        maxInMemory = Math.max(maxInMemory, created - consumed);
        await q.put(i);
      }
      q.close();
    })();

    const got: number[] = [];
    for await (const item of q) {
      await settle(); // slow consumer: the producer gets every chance to run ahead
      time.advance(10);
      got.push(item);
      consumed += 1;
    }
    await producer;

    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(maxDepth).toBe(capacity);
    // queued items, plus the one the producer holds while waiting, plus the one being consumed
    expect(maxInMemory).toBeLessThanOrEqual(capacity + 2);
    expect(q.status().stallMs).toBeGreaterThan(0);
  });

  it('reports depth, waiting producers and stall time', async () => {
    const time = fakeClock();
    const q = queue<number>(1, time.clock);
    await q.put(1);
    void q.put(2);
    time.advance(40);
    expect(q.status()).toEqual({ queue: 'q', depth: 1, capacity: 1, credit: null, stallMs: 40, waiting: 1 });
    await q.take();
    time.advance(60);
    expect(q.status()).toEqual({ queue: 'q', depth: 1, capacity: 1, credit: null, stallMs: 40, waiting: 0 });
  });

  it('on close: refuses puts, drains what is left, then ends iteration', async () => {
    const q = queue<number>(2);
    await q.put(1);
    await q.put(2);
    const blocked = q.put(3);
    q.close();
    await expect(blocked).rejects.toBeInstanceOf(QueueClosedError);
    await expect(q.put(4)).rejects.toBeInstanceOf(QueueClosedError);
    const rest: number[] = [];
    for await (const x of q) rest.push(x);
    expect(rest).toEqual([1, 2]);
    await expect(q.take()).rejects.toBeInstanceOf(QueueClosedError);
  });

  it('on close: wakes a waiting consumer with QueueClosedError', async () => {
    const q = queue<number>(2);
    const taking = q.take();
    q.close();
    await expect(taking).rejects.toBeInstanceOf(QueueClosedError);
  });

  it('on abort: drops items and fails every waiter and later call with the reason', async () => {
    const q = queue<number>(1);
    await q.put(1);
    const blocked = q.put(2);
    const reason = new Error('SIGTERM');
    q.abort(reason);
    await expect(blocked).rejects.toBe(reason);
    await expect(q.take()).rejects.toBe(reason);
    await expect(q.put(3)).rejects.toBe(reason);
    expect(q.depth).toBe(0);
    const iterate = async () => {
      for await (const _ of q) void _;
    };
    await expect(iterate()).rejects.toBe(reason);
  });

  it('stops waiting when a signal aborts, for put and for take', async () => {
    const q = queue<number>(1);
    await q.put(1);
    const controller = new AbortController();
    const put = q.put(2, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(put).rejects.toThrow('cancelled');
    expect(q.status().waiting).toBe(0);
    expect(q.drain()).toEqual([1]); // the aborted put's item never entered

    const take = q.take(controller.signal);
    await expect(take).rejects.toThrow('cancelled');
    const fresh = new AbortController();
    const waitingTake = q.take(fresh.signal);
    fresh.abort(new Error('later'));
    await expect(waitingTake).rejects.toThrow('later');
    await q.put(5);
    expect(q.drain()).toEqual([5]); // the aborted taker did not swallow it
  });

  it('tryPut refuses when full or when a producer is already waiting (no overtaking)', async () => {
    const q = queue<number>(1);
    expect(q.tryPut(1)).toBe(true);
    expect(q.tryPut(2)).toBe(false);
    void q.put(3);
    q.drain(1); // 3 moves in
    expect(q.tryPut(4)).toBe(false);
    expect(q.drain()).toEqual([3]);
  });

  it('rejects a capacity below 1', () => {
    expect(() => queue(0)).toThrow(RangeError);
  });

  it('never holds more than capacity and keeps FIFO order under any sequence of puts and takes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.boolean(), { maxLength: 60 }), async (capacity, script) => {
        const q = queue<number>(capacity);
        let maxDepth = 0;
        q.depth$.subscribe((d) => void (maxDepth = Math.max(maxDepth, d)));
        const taken: number[] = [];
        const pending: Promise<unknown>[] = [];
        let next = 0;
        for (const isPut of script) {
          pending.push(isPut ? q.put(next++) : q.take().then((x) => taken.push(x)));
          await settle();
        }
        q.close();
        await Promise.allSettled(pending);
        taken.push(...q.drain());
        expect(maxDepth).toBeLessThanOrEqual(capacity);
        // Items come out in put order; puts refused at close are the last ones, so the accepted ones are a prefix.
        expect(taken).toEqual(Array.from({ length: taken.length }, (_, i) => i));
      }),
      { numRuns: 60 },
    );
  });
});
