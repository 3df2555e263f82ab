import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { learnabilityReward } from '../../src/azr/learnability.js';

describe('learnabilityReward', () => {
  it('is −1 for an invalid proposal under either option', () => {
    expect(learnabilityReward({ valid: false })).toBe(-1);
    expect(learnabilityReward({ valid: false }, { unlearnable: 'minusHalf' })).toBe(-1);
  });

  it('is 1 − mean success when the solver sometimes succeeds', () => {
    expect(learnabilityReward({ valid: true, successes: [1, 0, 0, 0] })).toBeCloseTo(0.75);
    expect(learnabilityReward({ valid: true, successes: [1, 1, 1, 0, 1, 1, 1, 1] })).toBeCloseTo(0.125);
  });

  it('gives 0 (paper) for tasks always or never solved, −0.5 under the original code option', () => {
    for (const successes of [
      [1, 1, 1],
      [0, 0, 0, 0],
    ]) {
      expect(learnabilityReward({ valid: true, successes })).toBe(0);
      expect(learnabilityReward({ valid: true, successes }, { unlearnable: 'zero' })).toBe(0);
      expect(learnabilityReward({ valid: true, successes }, { unlearnable: 'minusHalf' })).toBe(-0.5);
    }
  });

  it('rejects an empty estimate and successes outside [0, 1]', () => {
    expect(() => learnabilityReward({ valid: true, successes: [] })).toThrow(RangeError);
    expect(() => learnabilityReward({ valid: true, successes: [1.5] })).toThrow(RangeError);
  });

  it('is in (0, 1) for learnable tasks and decreases as the solver gets better', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.nat(), fc.nat(), (n, a, b) => {
        const k1 = 1 + (a % (n - 1));
        const k2 = 1 + (b % (n - 1));
        const r = (k: number) =>
          learnabilityReward({ valid: true, successes: Array.from({ length: n }, (_, i) => (i < k ? 1 : 0)) });
        expect(r(k1)).toBeGreaterThan(0);
        expect(r(k1)).toBeLessThan(1);
        expect(r(k1)).toBeCloseTo(1 - k1 / n);
        if (k1 < k2) expect(r(k1)).toBeGreaterThan(r(k2));
      }),
    );
  });
});
