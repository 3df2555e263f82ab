import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROLES, TASK_TYPES, type Role, type TaskType } from '../../src/azr/tasks.js';
import { normalizeGroup, trrAdvantages, type Rollout } from '../../src/azr/trr.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sampleStd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};
const variance = (xs: number[]) => sampleStd(xs) ** 2;

// realistic rewards (solver −1/−0.5/acc, proposer −1/0/1−mean) plus arbitrary ones
const reward = fc.oneof(fc.constantFrom(-1, -0.5, 0, 0.25, 0.5, 0.875, 1), fc.double({ min: -1, max: 1, noNaN: true }));
const variedGroup = fc.array(reward, { minLength: 2, maxLength: 64 }).filter((rs) => variance(rs) > 1e-3);

describe('normalizeGroup', () => {
  it('per sequence: a varied group gets advantages with mean 0 and unit standard deviation', () => {
    fc.assert(
      fc.property(variedGroup, (rs) => {
        const { advantages, zero } = normalizeGroup(rs, undefined, 'perSequence');
        expect(zero).toBe(false);
        expect(Math.abs(mean(advantages))).toBeLessThan(1e-9);
        expect(sampleStd(advantages)).toBeCloseTo(1, 4);
      }),
    );
  });

  it('token weighted: the length-weighted mean is 0 and the weighted (unbiased) variance 1', () => {
    fc.assert(
      fc.property(
        variedGroup.chain((rs) =>
          fc.tuple(
            fc.constant(rs),
            fc.array(fc.integer({ min: 1, max: 60 }), { minLength: rs.length, maxLength: rs.length }),
          ),
        ),
        ([rs, ls]) => {
          const { advantages } = normalizeGroup(rs, ls, 'tokenWeighted');
          const total = ls.reduce((a, b) => a + b, 0);
          const wMean = advantages.reduce((a, x, j) => a + ls[j]! * x, 0) / total;
          const wVar = advantages.reduce((a, x, j) => a + ls[j]! * (x - wMean) ** 2, 0) / (total - 1);
          expect(Math.abs(wMean)).toBeLessThan(1e-9);
          // σ² of the weighted rewards can be far below that of the raw ones; the ε = 1e-8 shrinks it a little
          const { std } = normalizeGroup(rs, ls, 'tokenWeighted');
          if (std ** 2 > 1e-3) expect(wVar).toBeCloseTo(1, 4);
        },
      ),
    );
  });

  it('gives exactly zero advantages, never NaN, when all rewards are equal (one response included)', () => {
    fc.assert(
      fc.property(reward, fc.integer({ min: 1, max: 64 }), (r, n) => {
        const rs = Array.from({ length: n }, () => r);
        for (const stats of ['perSequence', 'tokenWeighted'] as const) {
          const res = normalizeGroup(
            rs,
            rs.map(() => 3),
            stats,
          );
          expect(res.advantages).toEqual(rs.map(() => 0));
          expect(res.zero).toBe(true);
        }
      }),
    );
    expect(normalizeGroup([0.1, 0.1, 0.1], undefined).advantages).toEqual([0, 0, 0]);
  });

  it('weights by length in tokenWeighted mode (a worked example) and not in perSequence mode', () => {
    // rewards [1, 0], lengths [3, 1]: μ = 3/4, σ² = (3·(1/4)² + 1·(3/4)²)/(4 − 1) = 1/4
    const t = normalizeGroup([1, 0], [3, 1], 'tokenWeighted', 0).advantages;
    expect(t[0]).toBeCloseTo(0.5);
    expect(t[1]).toBeCloseTo(-1.5);
    // per sequence: μ = 1/2, σ² = 1/2
    const s = normalizeGroup([1, 0], [3, 1], 'perSequence', 0).advantages;
    expect(s[0]).toBeCloseTo(Math.SQRT1_2);
    expect(s[1]).toBeCloseTo(-Math.SQRT1_2);
    expect(() => normalizeGroup([1, 0], [3, 0], 'tokenWeighted')).toThrow(RangeError);
    expect(() => normalizeGroup([1, 0], undefined, 'tokenWeighted')).toThrow(RangeError);
  });
});

describe('trrAdvantages', () => {
  const batch = (): Rollout[] => {
    const out: Rollout[] = [];
    ROLES.forEach((role, ri) =>
      TASK_TYPES.forEach((type, ti) => {
        // each group has its own offset and spread: a shared baseline would mix them up
        const offset = 10 * ri + 3 * ti;
        for (let j = 0; j < 4; j++) out.push({ role, type, reward: offset + j * (ti + 1), length: 1 + j });
      }),
    );
    return out;
  };

  it('normalises each of the six (role × type) groups separately', () => {
    const rollouts = batch();
    const { advantages, groups } = trrAdvantages(rollouts);
    expect(groups.map((g) => g.key)).toEqual(ROLES.flatMap((r) => TASK_TYPES.map((t) => `${r}/${t}`)));
    for (const role of ROLES)
      for (const type of TASK_TYPES) {
        const a = advantages.filter((_, j) => rollouts[j]!.role === role && rollouts[j]!.type === type);
        expect(a).toHaveLength(4);
        expect(Math.abs(mean(a))).toBeLessThan(1e-9);
        expect(sampleStd(a)).toBeCloseTo(1, 6);
        // the same within-group pattern whatever the group's offset and scale
        expect(a.map((x) => x.toFixed(6))).toEqual(advantages.slice(0, 4).map((x) => x.toFixed(6)));
      }
  });

  it('differs from one global baseline (REINFORCE++), which normalises the batch as one group', () => {
    const rollouts = batch();
    const six = trrAdvantages(rollouts).advantages;
    const global = trrAdvantages(rollouts, { baseline: 'global' });
    expect(global.groups.map((g) => g.key)).toEqual(['all']);
    expect(Math.abs(mean(global.advantages))).toBeLessThan(1e-9);
    expect(sampleStd(global.advantages)).toBeCloseTo(1, 6);
    expect(global.advantages).not.toEqual(six);
    // a proposer group with low rewards is all negative under the global baseline, centred under TRR++
    const low = global.advantages.slice(0, 4);
    expect(low.every((x) => x < 0)).toBe(true);
  });

  it('uses the raw reward as the advantage with no baseline', () => {
    const rollouts = batch();
    const res = trrAdvantages(rollouts, { baseline: 'none' });
    expect(res.advantages).toEqual(rollouts.map((r) => r.reward));
    expect(res.groups).toEqual([]);
  });

  it('zeroes a group whose rewards are all equal and leaves the others alone', () => {
    const rollouts: Rollout[] = [
      { role: 'propose', type: 'induction', reward: -1 },
      { role: 'propose', type: 'induction', reward: -1 },
      { role: 'solve', type: 'induction', reward: 1 },
      { role: 'solve', type: 'induction', reward: -0.5 },
    ];
    const { advantages, groups } = trrAdvantages(rollouts);
    expect(advantages.slice(0, 2)).toEqual([0, 0]);
    expect(advantages.every(Number.isFinite)).toBe(true);
    expect(advantages[2]).toBeGreaterThan(0);
    expect(groups.find((g) => g.key === 'propose/induction')!.zero).toBe(true);
  });

  it('applies token weighting per group when asked', () => {
    const rollouts: Rollout[] = [
      { role: 'solve', type: 'deduction', reward: 1, length: 3 },
      { role: 'solve', type: 'deduction', reward: 0, length: 1 },
    ];
    const { advantages } = trrAdvantages(rollouts, { statistics: 'tokenWeighted', epsilon: 0 });
    expect(advantages[0]).toBeCloseTo(0.5);
    expect(advantages[1]).toBeCloseTo(-1.5);
  });

  it('rejects unknown roles or types and non-finite rewards', () => {
    expect(() => trrAdvantages([{ role: 'judge' as Role, type: 'deduction', reward: 1 }])).toThrow(RangeError);
    expect(() => trrAdvantages([{ role: 'solve', type: 'x' as TaskType, reward: 1 }])).toThrow(RangeError);
    expect(() => trrAdvantages([{ role: 'solve', type: 'deduction', reward: NaN }])).toThrow(RangeError);
  });
});

describe("trrAdvantages baseline 'task' (GRPO-style, not the paper)", () => {
  it('normalises the answers to one task among themselves; a response without a task keeps its role × type group', () => {
    const rollouts = [
      { role: 'solve', type: 'deduction', reward: 1, group: 't0' },
      { role: 'solve', type: 'deduction', reward: -0.5, group: 't0' },
      { role: 'solve', type: 'deduction', reward: -0.5, group: 't1' },
      { role: 'solve', type: 'deduction', reward: -0.5, group: 't1' },
      { role: 'propose', type: 'deduction', reward: 0.5 },
      { role: 'propose', type: 'deduction', reward: -1 },
    ] as const;
    const { advantages, groups } = trrAdvantages(rollouts, { baseline: 'task' });
    // t0: one right, one wrong → ±1/√2 (unbiased σ of {1, −0.5} is 1.5/√2); t1: all equal → 0
    expect(advantages[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(advantages[1]).toBeCloseTo(-Math.SQRT1_2, 6);
    expect(advantages.slice(2, 4)).toEqual([0, 0]);
    expect(advantages[4]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(groups.map((g) => [g.key, g.n, g.zero])).toEqual([
      ['propose/deduction', 2, false],
      ['solve/deduction/t0', 2, false],
      ['solve/deduction/t1', 2, true],
    ]);
  });

  it("ignores the task under the paper's roleType baseline", () => {
    const rollouts = [1, -0.5, -0.5, -0.5].map((reward, i) => ({
      role: 'solve' as const,
      type: 'abduction' as const,
      reward,
      group: `t${i >> 1}`,
    }));
    expect(trrAdvantages(rollouts, { baseline: 'roleType' }).groups.map((g) => g.key)).toEqual(['solve/abduction']);
  });
});
