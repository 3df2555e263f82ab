import fc from 'fast-check';
import { BehaviorSubject, EMPTY, Subject, range } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { CreditOverflowError, credit } from '../../src/streams/credit.js';
import type { CreditStatus } from '../../src/streams/credit.js';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const n = { w: 1, x: 2, y: 3, z: 0 }; // grant sizes for the marbles below

describe('credit (marbles)', () => {
  it('forwards nothing without credit', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c|');
      const grants = hot<number>('-------');
      expectObservable(source.pipe(credit(grants, { capacity: 3 }))).toBe('-------');
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('forwards each item when both it and a credit exist, in source order', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = cold(' a-b-c-d-------|');
      const grants = hot('  ---w-----y-----', n);
      const expected = '    ---a-----(bcd)|';
      expectObservable(source.pipe(credit(grants, { capacity: 3 }))).toBe(expected);
    });
  });

  it('lets items through at once while credit is banked', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = cold(' ---a-b-c-d|');
      const grants = hot('  y-------w--', n);
      const expected = '    ---a-b-c-d|';
      expectObservable(source.pipe(credit(grants, { capacity: 0 }))).toBe(expected);
    });
  });

  it('completes only after the held items have been granted', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = cold(' ab|');
      const grants = hot('  ---w--w--', n);
      const expected = '    ---a--(b|)';
      expectObservable(source.pipe(credit(grants, { capacity: 2 }))).toBe(expected);
    });
  });

  it('forwards a source error at once, dropping held items', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = cold(' a-b-#', undefined, 'boom');
      const grants = hot('  w----', n);
      const expected = '    a---#';
      expectObservable(source.pipe(credit(grants, { capacity: 2 })), undefined).toBe(expected, undefined, 'boom');
    });
  });

  it('errors when grants error', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold(' a-b-c-');
      const grants = hot('  w---#', n, 'learner died');
      expectObservable(source.pipe(credit(grants, { capacity: 2 }))).toBe('a---#', undefined, 'learner died');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('completes and stops the producer once the consumer stops granting and its credit is used', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold(' a-b-c-d-|');
      const grants = hot('  x|', n);
      expectObservable(source.pipe(credit(grants, { capacity: 2 }))).toBe('a-(b|)');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('never starts the producer when the consumer is done before granting anything', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b|');
      expectObservable(source.pipe(credit(EMPTY, { capacity: 2 }))).toBe('|');
      expectSubscriptions(source.subscriptions).toBe([]);
    });
  });

  it('refuses an item that would exceed the capacity instead of growing the buffer', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold(' a-b-c-d');
      const grants = hot('  --w----', n);
      // a: held (1/1); b: a leaves on credit at frame 2, b held; c: buffer full and no credit → overflow.
      expectObservable(source.pipe(credit(grants, { capacity: 1 }))).toBe(
        '--a-#',
        undefined,
        new CreditOverflowError(1),
      );
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('with capacity 0 accepts an item only against credit', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      expectObservable(cold('a').pipe(credit(hot('-w', n), { capacity: 0 }))).toBe(
        '#',
        undefined,
        new CreditOverflowError(0),
      );
      expectObservable(cold('-a|').pipe(credit(hot('w', n), { capacity: 0 }))).toBe('-a|');
    });
  });

  it('errors on a grant that is not a whole non-negative number', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const grants = hot('-q', { q: -1 });
      expectObservable(cold('a').pipe(credit(grants, { capacity: 1 }))).toBe(
        '-#',
        undefined,
        new RangeError('credit: a grant must be an integer ≥ 0, got -1'),
      );
    });
  });

  it('unsubscribes from the source and the grants when the consumer unsubscribes', () => {
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d-e');
      const grants = hot('y--------', n);
      expectObservable(source.pipe(credit(grants, { capacity: 1 })), '^---!').toBe('a-b-');
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(grants.subscriptions).toBe('^---!');
    });
  });

  it('reports depth and credit after every change', () => {
    testScheduler().run(({ cold, hot, expectObservable, flush }) => {
      const statuses: CreditStatus[] = [];
      const source = cold(' ab----c|');
      const grants = hot('  --x---w-', n);
      expectObservable(source.pipe(credit(grants, { capacity: 2, onStatus: (s) => statuses.push(s) }))).toBe(
        '--(ab)c|',
      );
      flush();
      expect(statuses.map((s) => [s.depth, s.credit])).toEqual([
        [1, 0], // a held
        [2, 0], // b held
        [0, 0], // grant 2: both leave
        [0, 1], // grant 1 banked
        [0, 0], // c uses it
        [0, 0], // source completes
      ]);
    });
  });
});

describe('credit (synchronous use)', () => {
  it('keeps order and a flat stack when the consumer grants from inside next', () => {
    const grants = new BehaviorSubject<number>(1); // one credit up front
    const got: number[] = [];
    range(0, 100_000)
      .pipe(credit(grants, { capacity: 1 }))
      .subscribe((i) => {
        got.push(i);
        grants.next(1);
      });
    // range pushes synchronously; each item meets the credit granted while the previous one was delivered.
    expect(got).toEqual(Array.from({ length: 100_000 }, (_, i) => i));
  });
});

type Action = { kind: 'push' } | { kind: 'grant'; n: number };
const actions = fc.array(
  fc.oneof(
    fc.constant<Action>({ kind: 'push' }),
    fc.integer({ min: 0, max: 3 }).map((n): Action => ({ kind: 'grant', n })),
  ),
  { maxLength: 80 },
);

describe('credit (properties)', () => {
  it('with a producer that waits for room: forwards min(pushed, granted) items in order and holds ≤ capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), actions, (capacity, script) => {
        const source = new Subject<number>();
        const grants = new Subject<number>();
        const out: number[] = [];
        let maxDepth = 0;
        let failure: unknown;
        source
          .pipe(credit(grants, { capacity, onStatus: (s) => void (maxDepth = Math.max(maxDepth, s.depth)) }))
          .subscribe({ next: (v) => out.push(v), error: (e: unknown) => void (failure = e) });
        let pushed = 0;
        let granted = 0;
        for (const action of script) {
          if (action.kind === 'grant') {
            granted += action.n;
            grants.next(action.n);
          } else if (pushed < capacity + granted) {
            source.next(pushed++); // room exists: capacity plus everything granted so far
          }
          expect(out).toEqual(Array.from({ length: Math.min(pushed, granted) }, (_, i) => i));
        }
        expect(maxDepth).toBeLessThanOrEqual(capacity);
        expect(failure).toBeUndefined();
      }),
    );
  });

  it('with a producer that ignores room: never forwards more than granted, and overflows exactly when it ran ahead', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), actions, (capacity, script) => {
        const source = new Subject<number>();
        const grants = new Subject<number>();
        let forwarded = 0;
        let failure: unknown;
        source
          .pipe(credit(grants, { capacity }))
          .subscribe({ next: () => void forwarded++, error: (e: unknown) => void (failure = e) });
        let pushed = 0;
        let granted = 0;
        let ranAhead = false;
        for (const action of script) {
          if (action.kind === 'grant') {
            if (!ranAhead) granted += action.n;
            grants.next(action.n);
          } else {
            pushed += 1;
            if (pushed - granted > capacity) ranAhead = true;
            source.next(pushed);
          }
          expect(forwarded).toBeLessThanOrEqual(granted);
        }
        expect(failure instanceof CreditOverflowError).toBe(ranAhead);
      }),
    );
  });
});
