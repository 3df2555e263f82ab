import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lengthBuckets } from '../../src/gpu/layout.js';

describe('lengthBuckets', () => {
  it('partitions the rows: every index once, buckets in length order, each a run of the sorted lengths', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 120 }), (lengths) => {
        const buckets = lengthBuckets(lengths);
        const flat = buckets.flat();
        expect([...flat].sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
        for (let i = 1; i < flat.length; i++) expect(lengths[flat[i]!]!).toBeGreaterThanOrEqual(lengths[flat[i - 1]!]!);
        expect(buckets.every((b) => b.length > 0)).toBe(true);
      }),
    );
  });

  it('keeps rows of one length together, and splits a batch whose lengths differ by far', () => {
    expect(lengthBuckets(Array.from({ length: 40 }, () => 60))).toHaveLength(1);
    // 36 short solver answers (~20 positions) and 12 long induction proposals (~180): padding the short ones to 180 would cost far more than a second call
    const lengths = [
      ...Array.from({ length: 36 }, (_, i) => 16 + (i % 8)),
      ...Array.from({ length: 12 }, (_, i) => 170 + i),
    ];
    const buckets = lengthBuckets(lengths);
    expect(buckets.length).toBeGreaterThan(1);
    expect(buckets.some((b) => b.every((i) => i < 36))).toBe(true);
  });

  it('costs no more than one bucket under its own cost model', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 80 }), (lengths) => {
        const cost = (rows: number[]) => {
          const T = Math.max(...rows.map((i) => lengths[i]!));
          return rows.length * T * (1 + T / 256) + 512;
        };
        const total = lengthBuckets(lengths).reduce((n, b) => n + cost(b), 0);
        expect(total).toBeLessThanOrEqual(cost(lengths.map((_, i) => i)) + 1e-6);
      }),
    );
  });
});
