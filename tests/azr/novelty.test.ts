import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noveltyBonuses, noveltyKey, slideNoveltyWindow } from '../../src/azr/novelty.js';

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const batch = fc.array(key, { minLength: 1, maxLength: 12 });
const recent = fc.array(fc.array(key, { maxLength: 6 }), { maxLength: 4 });
const coef = fc.double({ min: 0.01, max: 2, noNaN: true });

describe('noveltyBonuses (azr extension: b(p) = coef / (1 + k(p)))', () => {
  it('gives the full coef to a program proposed once and not seen in the window', () => {
    expect(noveltyBonuses(['a', 'b'], [['c'], ['d']], 0.5)).toEqual([0.5, 0.5]);
  });

  it('divides by 1 + the other recent occurrences, the batch’s own copies included', () => {
    // a: 2 in the window + 2 in the batch → k = 3; b: 0 + 1 → k = 0
    expect(noveltyBonuses(['a', 'b', 'a'], [['a'], ['a', 'c']], 1)).toEqual([0.25, 1, 0.25]);
  });

  it('is 0 everywhere when coef is 0 (off: the paper), and rejects a negative coef', () => {
    expect(noveltyBonuses(['a', 'a'], [['a']], 0)).toEqual([0, 0]);
    expect(() => noveltyBonuses(['a'], [], -1)).toThrow(RangeError);
  });

  it('lies in (0, coef] (fast-check)', () => {
    fc.assert(
      fc.property(batch, recent, coef, (b, r, c) => {
        for (const x of noveltyBonuses(b, r, c)) {
          expect(x).toBeGreaterThan(0);
          expect(x).toBeLessThanOrEqual(c + 1e-12);
        }
      }),
    );
  });

  it('does not depend on the order of the batch (fast-check)', () => {
    fc.assert(
      fc.property(batch, recent, coef, fc.nat(), (b, r, c, seed) => {
        const order = b.map((_, i) => i).sort((i, j) => ((i * 7919 + seed) % 13) - ((j * 7919 + seed) % 13) || i - j);
        const direct = noveltyBonuses(b, r, c);
        const permuted = noveltyBonuses(
          order.map((i) => b[i]!),
          r,
          c,
        );
        order.forEach((i, at) => expect(permuted[at]).toBe(direct[i]));
      }),
    );
  });

  it('never rises when the program was seen more often recently (fast-check)', () => {
    fc.assert(
      fc.property(batch, recent, coef, key, (b, r, c, extra) => {
        const before = noveltyBonuses(b, r, c);
        const after = noveltyBonuses(b, [...r, [extra]], c);
        b.forEach((k, i) =>
          k === extra ? expect(after[i]).toBeLessThan(before[i]!) : expect(after[i]).toBe(before[i]),
        );
      }),
    );
  });
});

describe('noveltyKey and the window', () => {
  it('keys deduction/abduction by program, induction by program and inputs', () => {
    const program = 'function f(n) { return n; }';
    expect(noveltyKey('deduction', { program, input: '1', output: 1 })).toBe(program);
    expect(noveltyKey('abduction', { program, input: '2', output: 2 })).toBe(program);
    const ind = noveltyKey('induction', { program, inputs: ['1', '2'], outputs: [1, 2], message: 'm' });
    expect(ind).not.toBe(program);
    expect(ind).not.toBe(noveltyKey('induction', { program, inputs: ['1', '3'], outputs: [1, 3], message: 'm' }));
  });

  it('keeps the last `window` steps', () => {
    expect(slideNoveltyWindow([['a'], ['b']], ['c'], 2)).toEqual([['b'], ['c']]);
    expect(slideNoveltyWindow([], ['c'], 3)).toEqual([['c']]);
  });
});
