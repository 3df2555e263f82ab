import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { EventBus } from '../../src/streams/bus.js';
import { InvalidRunEventError, eventBody } from '../../src/streams/events.js';
import type { RunEvent } from '../../src/streams/events.js';
import { sampleBodies } from './fixtures/sampleBodies.js';

function fakeClock(start = 1000) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => void (now += ms) };
}

const sizes = (n: number) => eventBody('buffer.sizes', { sizes: { deduction: n, abduction: n, induction: n } });

describe('EventBus', () => {
  it('stamps v, runId, seq, t since start and the current step', () => {
    const time = fakeClock(5000);
    const bus = new EventBus({ runId: 'tiny-1', clock: time.clock });
    const seen: RunEvent[] = [];
    bus.events$.subscribe((e) => seen.push(e));

    bus.emit(sizes(1));
    time.advance(250.4);
    bus.setStep(1);
    const returned = bus.emit(sampleBodies['learner.step']);

    expect(seen).toEqual([
      { v: 1, runId: 'tiny-1', seq: 0, t: 0, step: 0, ...sizes(1) },
      { v: 1, runId: 'tiny-1', seq: 1, t: 250, step: 1, ...sampleBodies['learner.step'] },
    ]);
    expect(returned).toBe(seen[1]);
    expect(bus.nextSeq).toBe(2);
  });

  it('continues a resumed run at the given seq, step and t', () => {
    const time = fakeClock();
    const bus = new EventBus({ runId: 'r', clock: time.clock, nextSeq: 42, step: 7, tOffset: 9000 });
    time.advance(10);
    expect(bus.emit(sizes(1))).toMatchObject({ seq: 42, step: 7, t: 9010 });
  });

  it('keeps seq gap-free and in delivery order when many async producers emit concurrently', async () => {
    const bus = new EventBus({ runId: 'r', clock: fakeClock().clock });
    const seen: number[] = [];
    bus.events$.subscribe((e) => seen.push(e.seq));
    const rng = new Rng(5);
    const producer = async (id: number) => {
      const r = rng.split(`producer-${id}`);
      for (let i = 0; i < 20; i++) {
        for (let k = r.int(4); k > 0; k--) await Promise.resolve(); // interleave differently per producer
        bus.emit(sizes(id));
      }
    };

    await Promise.all(Array.from({ length: 50 }, (_, id) => producer(id)));

    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('delivers an event emitted by a subscriber after the one being delivered, to every subscriber', () => {
    // Regression guard: with a bare Subject, the second subscriber would see seq 1 before seq 0.
    const bus = new EventBus({ runId: 'r', clock: fakeClock().clock });
    const first: number[] = [];
    const second: number[] = [];
    bus.events$.subscribe((e) => {
      first.push(e.seq);
      if (e.type === 'learner.step') bus.emit(sizes(1));
    });
    bus.events$.subscribe((e) => second.push(e.seq));

    const emitted = bus.emit(sampleBodies['learner.step']);

    expect(emitted.seq).toBe(0);
    expect(first).toEqual([0, 1]);
    expect(second).toEqual([0, 1]);
  });

  it('rejects an invalid body with a clear error and does not use up its seq', () => {
    const bus = new EventBus({ runId: 'r', clock: fakeClock().clock });
    const seen: number[] = [];
    bus.events$.subscribe((e) => seen.push(e.seq));

    bus.emit(sizes(1));
    const bad = { ...sampleBodies['rollout.scored'], reward: Number.NaN };
    expect(() => bus.emit(bad)).toThrow(InvalidRunEventError);
    expect(() => bus.emit(bad)).toThrow(/rollout\.scored[\s\S]*reward/);
    bus.emit(sizes(2));

    expect(seen).toEqual([0, 1]);
  });

  it('never moves back to an earlier step', () => {
    const bus = new EventBus({ runId: 'r', clock: fakeClock().clock, step: 3 });
    expect(() => bus.setStep(2)).toThrow(RangeError);
    bus.setStep(3);
    bus.setStep(4);
    expect(bus.step).toBe(4);
  });

  it('completes subscribers after queued events and refuses emits afterwards', () => {
    const bus = new EventBus({ runId: 'r', clock: fakeClock().clock });
    const seen: string[] = [];
    bus.events$.subscribe({
      next: (e) => {
        seen.push(String(e.seq));
        if (e.seq === 0) {
          bus.emit(sizes(1));
          bus.complete();
        }
      },
      complete: () => seen.push('done'),
    });

    bus.emit(sizes(0));

    expect(seen).toEqual(['0', '1', 'done']);
    expect(() => bus.emit(sizes(2))).toThrow(/complete/);
  });
});
