import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/streams/bus.js';
import { ChannelClosedError, CreditChannel } from '../../src/streams/creditChannel.js';
import { queueDepthBody } from '../../src/streams/queueStatus.js';

function fakeClock() {
  let now = 0;
  return { clock: () => now, advance: (ms: number) => void (now += ms) };
}

/** Lets every pending promise continuation run (no timers, no wall clock). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CreditChannel', () => {
  it('pauses a fast producer behind a slow consumer: items in memory stay within capacity + what is granted', async () => {
    // Arrange: a producer that would run through 500 items at once, a consumer that takes one item per turn.
    const time = fakeClock();
    const capacity = 4;
    const channel = new CreditChannel<number>({ name: 'scored→learner', capacity, clock: time.clock });
    let created = 0;
    let consumed = 0;
    let maxInMemory = 0;
    let maxWaiting = 0;
    const got: number[] = [];
    const inbox: number[] = [];
    channel.output$.subscribe((item) => inbox.push(item));
    channel.status$.subscribe((s) => void (maxWaiting = Math.max(maxWaiting, s.waiting)));
    const producer = (async () => {
      for (let i = 0; i < 500; i++) {
        const slot = await channel.reserve(); // pull-driven: room first, then produce
        created += 1;
        maxInMemory = Math.max(maxInMemory, created - consumed);
        slot.push(i);
      }
      channel.close();
    })();
    const done = new Promise<void>((resolve) => channel.output$.subscribe({ complete: resolve }));

    // Act: the learner grants one, processes what arrives slowly, and grants again.
    channel.grant(1);
    while (consumed < 500) {
      await settle();
      time.advance(10);
      const item = inbox.shift();
      if (item === undefined) continue;
      got.push(item);
      consumed += 1;
      channel.grant(1);
    }
    await producer;
    await done;

    // Assert: every item once, in order; the producer was held back; memory never exceeded the bound.
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(maxInMemory).toBeLessThanOrEqual(capacity + 1);
    expect(maxWaiting).toBe(1);
    expect(channel.status().stallMs).toBeGreaterThan(0);
  });

  it('with capacity 0 lets producers produce only against credit', async () => {
    const channel = new CreditChannel<string>({ name: 'q', capacity: 0, clock: fakeClock().clock });
    const got: string[] = [];
    channel.output$.subscribe((x) => got.push(x));
    expect(channel.tryReserve()).toBeNull();
    let reserved = false;
    const pending = channel.reserve().then((slot) => {
      reserved = true;
      return slot;
    });
    await settle();
    expect(reserved).toBe(false);

    channel.grant(1);
    (await pending).push('a');

    expect(got).toEqual(['a']);
    expect(channel.tryReserve()).toBeNull();
  });

  it('serves waiting producers first come, first served', async () => {
    const channel = new CreditChannel<string>({ name: 'q', capacity: 0, clock: fakeClock().clock });
    const got: string[] = [];
    channel.output$.subscribe((x) => got.push(x));
    const producers = ['p1', 'p2', 'p3'].map(async (name) => (await channel.reserve()).push(name));
    channel.grant(1);
    await settle();
    channel.grant(2);
    await Promise.all(producers);
    expect(got).toEqual(['p1', 'p2', 'p3']);
  });

  it('reports depth, credit, waiting producers and stall time from the injected clock', async () => {
    const time = fakeClock();
    const channel = new CreditChannel<number>({ name: 'q', capacity: 2, clock: time.clock });
    channel.output$.subscribe();
    (await channel.reserve()).push(1);
    (await channel.reserve()).push(2);
    expect(channel.status()).toEqual({ queue: 'q', depth: 2, capacity: 2, credit: 0, stallMs: 0, waiting: 0 });

    const third = channel.reserve();
    time.advance(30);
    expect(channel.status()).toMatchObject({ waiting: 1, stallMs: 30 });
    channel.grant(3); // 1 and 2 leave; 1 credit banked; the waiting producer gets room
    (await third).push(3); // uses the banked credit
    time.advance(100);

    expect(channel.status()).toEqual({ queue: 'q', depth: 0, capacity: 2, credit: 0, stallMs: 30, waiting: 0 });
  });

  it('turns its status into a valid queue.depth event', () => {
    const channel = new CreditChannel<number>({ name: 'scored→learner', capacity: 8, clock: fakeClock().clock });
    const bus = new EventBus({ runId: 'r', clock: () => 0 });
    expect(bus.emit(queueDepthBody(channel.status()))).toMatchObject({
      type: 'queue.depth',
      queue: 'scored→learner',
      capacity: 8,
      credit: 0,
    });
  });

  it('gives room back when a producer releases its reservation unused', async () => {
    const channel = new CreditChannel<number>({ name: 'q', capacity: 1, clock: fakeClock().clock });
    const slot = channel.tryReserve();
    expect(slot).not.toBeNull();
    expect(channel.tryReserve()).toBeNull();
    slot?.release();
    expect(channel.tryReserve()).not.toBeNull();
    expect(() => slot?.push(1)).toThrow(/already used/);
  });

  it('refuses a grant while nobody listens, since the granted items would be lost', () => {
    const channel = new CreditChannel<number>({ name: 'q', capacity: 1, clock: fakeClock().clock });
    expect(() => channel.grant(1)).toThrow(/no subscriber/);
    channel.output$.subscribe();
    expect(() => channel.grant(-2)).toThrow(RangeError);
  });

  it('on close: refuses new reservations, delivers what was produced, then completes', async () => {
    const channel = new CreditChannel<number>({ name: 'q', capacity: 2, clock: fakeClock().clock });
    const events: string[] = [];
    channel.output$.subscribe({ next: (x) => events.push(String(x)), complete: () => events.push('done') });
    const open = await channel.reserve();
    (await channel.reserve()).push(1);
    const waiting = channel.reserve();

    channel.close();
    await expect(waiting).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(channel.reserve()).rejects.toBeInstanceOf(ChannelClosedError);
    open.push(2); // a reservation handed out before close is still honoured
    expect(events).toEqual([]);
    channel.grant(2);

    expect(events).toEqual(['1', '2', 'done']);
  });

  it('on abort: fails waiting producers and the consumer with the reason', async () => {
    const channel = new CreditChannel<number>({ name: 'q', capacity: 0, clock: fakeClock().clock });
    let failure: unknown;
    channel.output$.subscribe({ error: (e: unknown) => void (failure = e) });
    const waiting = channel.reserve();
    const reason = new Error('SIGTERM');
    channel.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(failure).toBe(reason);
    expect(channel.status().waiting).toBe(0);
  });

  it('stops waiting when the producer’s signal aborts', async () => {
    const time = fakeClock();
    const channel = new CreditChannel<number>({ name: 'q', capacity: 0, clock: time.clock });
    const controller = new AbortController();
    const waiting = channel.reserve(controller.signal);
    time.advance(5);
    controller.abort(new Error('step cancelled'));
    await expect(waiting).rejects.toThrow('step cancelled');
    time.advance(5);
    expect(channel.status()).toMatchObject({ waiting: 0, stallMs: 5 });
  });
});
