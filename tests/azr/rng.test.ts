import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';

describe('Rng', () => {
  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('restores a stream exactly from its state', () => {
    const a = new Rng('seed');
    a.next();
    const copy = new Rng(a.state());
    expect(Array.from({ length: 5 }, () => copy.next())).toEqual(Array.from({ length: 5 }, () => a.next()));
  });

  it('splits into independent children without advancing the parent', () => {
    const a = new Rng(7),
      b = new Rng(7);
    const x = a.split('proposer'),
      y = a.split('solver');
    expect(a.next()).toBe(b.next());
    expect(x.nextUint32()).not.toBe(y.nextUint32());
    expect(new Rng(7).split('proposer').nextUint32()).toBe(new Rng(7).split('proposer').nextUint32());
  });

  it('draws integers in range with roughly uniform frequency', () => {
    const r = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[r.int(4)]! += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => r.int(0)).toThrow(RangeError);
  });
});
