import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskBuffer, taskKey, type BufferSnapshot } from '../../src/azr/buffer.js';
import { Rng } from '../../src/azr/rng.js';
import type { Triplet } from '../../src/azr/tasks.js';

const triplet = (i: number, input = '1'): Triplet => ({
  program: `function f(n) { return n + ${i % 20}; }`,
  input,
  output: i % 20,
});

/** A buffer with `n` distinct tasks, task i added at step i. */
function filled(n: number, options = {}): TaskBuffer<Triplet> {
  const b = new TaskBuffer<Triplet>(options);
  for (let i = 0; i < n; i++) b.add([triplet(i, String(i))], i);
  return b;
}

describe('TaskBuffer references', () => {
  it('draws K distinct references (fast-check, both weightings)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 12 }),
        fc.nat(),
        fc.boolean(),
        (n, k, seed, recent) => {
          const refs = filled(n).references(k, new Rng(seed), recent ? 'step' : 'uniform');
          expect(refs).toHaveLength(Math.min(k, n));
          expect(new Set(refs.map((e) => e.id)).size).toBe(refs.length);
        },
      ),
    );
  });

  it('weights references to recent entries under the step weighting, uniformly otherwise', () => {
    const b = new TaskBuffer<Triplet>();
    b.add([triplet(0)], 0);
    b.add([triplet(1, '2')], 99);
    const rng = new Rng(1);
    let recentStep = 0;
    let recentUniform = 0;
    for (let i = 0; i < 2000; i++) {
      if (b.references(1, rng, 'step')[0]!.step === 99) recentStep++;
      if (b.references(1, rng, 'uniform')[0]!.step === 99) recentUniform++;
    }
    expect(recentStep / 2000).toBeGreaterThan(0.97); // weight 100 against 1
    expect(Math.abs(recentUniform / 2000 - 0.5)).toBeLessThan(0.05);
  });
});

describe('TaskBuffer solver draws', () => {
  it('max_new takes every recent entry first, then fills uniformly', () => {
    const b = filled(50);
    const rng = new Rng(2);
    const draw = b.drawSolverTasks(8, rng, { step: 50 }); // recent: steps 49 (t − s ≤ 1)
    expect(draw).toHaveLength(8);
    expect(draw[0]!.step).toBe(49);
    const wide = b.drawSolverTasks(8, rng, { step: 50, recentWindow: 10 });
    expect(wide.every((e) => e.step >= 40)).toBe(true); // 10 recent entries cover the whole batch
  });

  it('half_new takes at most half the batch from recent entries', () => {
    const b = filled(100);
    const draw = b.drawSolverTasks(10, new Rng(3), { step: 100, mix: 'halfNew', recentWindow: 20 });
    expect(draw).toHaveLength(10);
    expect(draw.slice(0, 5).every((e) => e.step >= 80)).toBe(true);
    // the other half is uniform over all 100 entries, of which 20 are recent: 5 + 5 × 0.2 = 6 recent per batch
    const rng = new Rng(30);
    let recent = 0;
    for (let i = 0; i < 400; i++)
      recent += b
        .drawSolverTasks(10, rng, { step: 100, mix: 'halfNew', recentWindow: 20 })
        .filter((e) => e.step >= 80).length;
    expect(recent / 4000).toBeCloseTo(0.6, 1);
    const all = filled(100).drawSolverTasks(10, new Rng(3), { step: 100, mix: 'maxNew', recentWindow: 20 });
    expect(all.every((e) => e.step >= 80)).toBe(true);
  });

  it('uniform ignores recency', () => {
    const b = filled(100);
    const rng = new Rng(4);
    let old = 0;
    for (let i = 0; i < 200; i++)
      old += b.drawSolverTasks(10, rng, { step: 100, mix: 'uniform' }).filter((e) => e.step < 90).length;
    expect(old / 2000).toBeGreaterThan(0.8);
  });

  it('always fills a batch, sampling with replacement from a small buffer', () => {
    const b = filled(2);
    const draw = b.drawSolverTasks(64, new Rng(5), { step: 1 });
    expect(draw).toHaveLength(64);
    expect(new Set(draw.map((e) => e.id))).toEqual(new Set([0, 1]));
    for (const mix of ['maxNew', 'halfNew', 'uniform'] as const)
      expect(filled(1).drawSolverTasks(64, new Rng(6), { step: 7, mix })).toHaveLength(64);
    expect(() => new TaskBuffer().drawSolverTasks(1, new Rng(7), { step: 0 })).toThrow(RangeError);
  });
});

describe('TaskBuffer cap, eviction and dedup', () => {
  it('drops the oldest entries at the cap by default', () => {
    const b = filled(10, { cap: 4 });
    expect(b.entries().map((e) => e.step)).toEqual([6, 7, 8, 9]);
  });

  it('keeps the oldest and drops new tasks under keepOldest (the original)', () => {
    const b = filled(10, { cap: 4, eviction: 'keepOldest' });
    expect(b.entries().map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(b.add([triplet(99)], 11)).toEqual({ added: 0, duplicates: 0, dropped: 1, evicted: 0, capped: 0 });
  });

  it('keeps duplicates unless dedup is on; dedup is by (program, input)', () => {
    const same = [triplet(1), triplet(1), { ...triplet(1), output: 99 }];
    expect(new TaskBuffer<Triplet>().add(same, 1).added).toBe(3);
    const d = new TaskBuffer<Triplet>({ dedup: true });
    expect(d.add(same, 1)).toEqual({ added: 1, duplicates: 2, dropped: 0, evicted: 0, capped: 0 });
    expect(d.add([triplet(1, '2')], 2).added).toBe(1);
    expect(taskKey(triplet(1))).not.toBe(taskKey(triplet(1, '2')));
  });

  it('lets an evicted task back in under dedup', () => {
    const d = new TaskBuffer<Triplet>({ dedup: true, cap: 1 });
    d.add([triplet(1)], 1);
    d.add([triplet(2)], 2);
    expect(d.add([triplet(1)], 3).added).toBe(1);
  });
});

describe('TaskBuffer program share cap (maxProgramShare, anti-degeneracy)', () => {
  const program = (k: number) => `function f(n) { return n + ${k}; }`;
  const task = (k: number, input: number): Triplet => ({
    program: program(k),
    input: String(input),
    output: input + k,
  });

  it('is off by default: one program may fill the buffer (the paper)', () => {
    const b = new TaskBuffer<Triplet>();
    expect(
      b.add(
        Array.from({ length: 10 }, (_, i) => task(1, i)),
        1,
      ),
    ).toMatchObject({ added: 10, capped: 0 });
    expect(b.programCount(program(1))).toBe(10);
  });

  it('skips a task whose program already holds the share, and always admits a new program', () => {
    const b = new TaskBuffer<Triplet>({ maxProgramShare: 0.5 });
    // [] → +p1 (new) → p1 holds 1/1 ≥ 0.5: capped → +p2 (new) → p1 holds 1/2 ≥ 0.5: capped → +p3 → p1 1/3 < 0.5: added
    expect(b.add([task(1, 0), task(1, 1), task(2, 0), task(1, 2), task(3, 0), task(1, 3)], 1)).toEqual({
      added: 4,
      duplicates: 0,
      dropped: 0,
      evicted: 0,
      capped: 2,
    });
    expect(b.entries().map((e) => e.task.program)).toEqual([program(1), program(2), program(3), program(1)]);
  });

  it('keeps every program below share × size + 1 for any sequence of additions until eviction (fast-check)', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(4), { maxLength: 8 }), { maxLength: 10 }),
        fc.constantFrom(0.1, 0.25, 0.5, 1),
        fc.integer({ min: 1, max: 100 }),
        (batches, share, cap) => {
          const b = new TaskBuffer<Triplet>({ maxProgramShare: share, cap });
          let offered = 0;
          let accounted = 0;
          let evicted = 0;
          batches.forEach((ks, step) => {
            const r = b.add(
              ks.map((k, i) => task(k, i)),
              step,
            );
            offered += ks.length;
            accounted += r.added + r.capped;
            evicted += r.evicted;
            // the bound holds by construction while nothing was evicted (eviction removes the oldest, whatever its program)
            if (evicted === 0) {
              for (const k of [0, 1, 2, 3, 4]) expect(b.programCount(program(k))).toBeLessThan(share * b.size + 1);
              checked++;
            }
          });
          expect(accounted).toBe(offered);
          // the counts follow eviction
          for (const k of [0, 1, 2, 3, 4])
            expect(b.programCount(program(k))).toBe(b.entries().filter((e) => e.task.program === program(k)).length);
        },
      ),
      { numRuns: 200 },
    );
    expect(checked).toBeGreaterThan(200); // the bound was checked after hundreds of additions, not a handful
  });

  it('survives a snapshot: the restored buffer caps the same way', () => {
    const b = new TaskBuffer<Triplet>({ maxProgramShare: 0.5 });
    b.add([task(1, 0), task(2, 0)], 1);
    const restored = TaskBuffer.restore(JSON.parse(JSON.stringify(b.snapshot())) as BufferSnapshot<Triplet>);
    expect(restored.options.maxProgramShare).toBe(0.5);
    expect(restored.add([task(1, 5)], 2).capped).toBe(1);
    expect(() => new TaskBuffer({ maxProgramShare: 0 })).toThrow(RangeError);
    expect(() => new TaskBuffer({ maxProgramShare: 1.5 })).toThrow(RangeError);
  });
});

describe('TaskBuffer snapshots', () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('add' as const),
      n: fc.integer({ min: 0, max: 5 }),
      step: fc.nat(20),
      salt: fc.nat(3),
    }),
    fc.record({ kind: fc.constant('draw' as const), n: fc.integer({ min: 1, max: 6 }) }),
  );

  it('round-trip exactly through JSON: same snapshot, same future draws (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 12 }),
        fc.record({
          cap: fc.integer({ min: 1, max: 8 }),
          eviction: fc.constantFrom('dropOldest' as const, 'keepOldest' as const),
          dedup: fc.boolean(),
          maxProgramShare: fc.constantFrom(null, 0.25, 0.5, 1),
        }),
        fc.nat(),
        (ops, options, seed) => {
          const b = new TaskBuffer<Triplet>(options);
          const rng = new Rng(seed);
          for (const o of ops) {
            if (o.kind === 'add')
              b.add(
                Array.from({ length: o.n }, (_, i) => triplet(i + o.salt, String(o.salt))),
                o.step,
              );
            else if (b.size > 0) b.drawSolverTasks(o.n, rng, { step: 20 });
          }
          const snap = b.snapshot();
          const restored = TaskBuffer.restore(JSON.parse(JSON.stringify(snap)) as BufferSnapshot<Triplet>);
          expect(restored.snapshot()).toEqual(snap);
          restored.add([triplet(7, 'x')], 21);
          b.add([triplet(7, 'x')], 21);
          expect(restored.snapshot()).toEqual(b.snapshot());
          const r1 = new Rng(seed + 1),
            r2 = new Rng(seed + 1);
          expect(restored.drawSolverTasks(5, r1, { step: 21 })).toEqual(b.drawSolverTasks(5, r2, { step: 21 }));
          expect(restored.references(3, r1, 'step')).toEqual(b.references(3, r2, 'step'));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is not changed by later additions, and rejects malformed snapshots', () => {
    const b = filled(3);
    const snap = b.snapshot();
    b.add([triplet(50)], 9);
    expect(snap.entries).toHaveLength(3);
    expect(() => TaskBuffer.restore({ ...snap, version: 2 } as unknown as BufferSnapshot)).toThrow(RangeError);
    expect(() => TaskBuffer.restore({ ...snap, nextId: 0 })).toThrow(RangeError);
    expect(() => new TaskBuffer({ cap: 0 })).toThrow(RangeError);
  });
});
