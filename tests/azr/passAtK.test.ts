import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { passAtK } from '../../src/azr/passAtK.js';

/** 1 − C(n−c, k)/C(n, k) with the binomials written out (small n only). */
function direct(n: number, c: number, k: number): number {
  const choose = (a: number, b: number): number => {
    if (b < 0 || b > a) return 0;
    let r = 1;
    for (let i = 1; i <= b; i++) r = (r * (a - b + i)) / i;
    return r;
  };
  return 1 - choose(n - c, k) / choose(n, k);
}

describe('passAtK (Chen et al. 2021, eq. 1)', () => {
  it('equals the binomial formula', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 30 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }), fc.integer({ min: 1, max: n }))),
        ([n, c, k]) => {
          expect(passAtK(n, c, k)).toBeCloseTo(direct(n, c, k), 10);
        },
      ),
    );
  });

  it('is c/n at k = 1, and "any correct" when k = n', () => {
    expect(passAtK(8, 3, 1)).toBeCloseTo(3 / 8, 12);
    expect(passAtK(8, 0, 8)).toBe(0);
    expect(passAtK(8, 1, 8)).toBe(1);
    expect(passAtK(16, 2, 4)).toBeCloseTo(1 - (14 * 13 * 12 * 11) / (16 * 15 * 14 * 13), 12);
  });

  it('refuses impossible counts', () => {
    expect(() => passAtK(4, 5, 1)).toThrow(RangeError);
    expect(() => passAtK(4, 1, 5)).toThrow(RangeError);
    expect(() => passAtK(0, 0, 1)).toThrow(RangeError);
    expect(() => passAtK(4, 1.5, 1)).toThrow(RangeError);
  });
});
