import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { solverReward } from '../../src/azr/solverReward.js';

describe('solverReward', () => {
  it('is −1 for a format error, −0.5 for wrong, 1 for right (deduction and abduction)', () => {
    for (const type of ['deduction', 'abduction'] as const) {
      expect(solverReward({ kind: 'formatError' }, type)).toBe(-1);
      expect(solverReward({ kind: 'graded', passed: 0, total: 1 }, type)).toBe(-0.5);
      expect(solverReward({ kind: 'graded', passed: 1, total: 1 }, type)).toBe(1);
    }
  });

  it('grades induction binary by default: all hidden pairs or wrong', () => {
    expect(solverReward({ kind: 'graded', passed: 5, total: 5 }, 'induction')).toBe(1);
    expect(solverReward({ kind: 'graded', passed: 4, total: 5 }, 'induction')).toBe(-0.5);
    expect(solverReward({ kind: 'graded', passed: 4, total: 5 }, 'induction', { induction: 'binary' })).toBe(-0.5);
  });

  it('grades induction by the fraction of hidden pairs under the fraction option', () => {
    expect(solverReward({ kind: 'graded', passed: 4, total: 5 }, 'induction', { induction: 'fraction' })).toBeCloseTo(
      0.8,
    );
    expect(solverReward({ kind: 'graded', passed: 0, total: 5 }, 'induction', { induction: 'fraction' })).toBe(-0.5);
  });

  it('rejects impossible counts', () => {
    expect(() => solverReward({ kind: 'graded', passed: 2, total: 1 }, 'deduction')).toThrow(RangeError);
    expect(() => solverReward({ kind: 'graded', passed: 1, total: 2 }, 'abduction')).toThrow(RangeError);
    expect(() => solverReward({ kind: 'graded', passed: 0, total: 0 }, 'induction')).toThrow(RangeError);
  });

  it('stays in {−1, −0.5} ∪ (0, 1] and only a format error earns −1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.nat(10),
        fc.constantFrom('binary', 'fraction') as fc.Arbitrary<'binary' | 'fraction'>,
        (total, p, mode) => {
          const passed = Math.min(p, total);
          const r = solverReward({ kind: 'graded', passed, total }, 'induction', { induction: mode });
          expect(r === -0.5 || (r > 0 && r <= 1)).toBe(true);
          expect(r === 1).toBe(passed === total);
        },
      ),
    );
  });
});
