import { describe, expect, it } from 'vitest';
import { ignoresInput, probeInputs, type ProbeRun } from '../../src/azr/inputDependence.js';
import type { Value } from '../../src/azr/lang/value.js';
import { Rng } from '../../src/azr/rng.js';

const ok = (output: Value): ProbeRun => ({ ok: true, output });
const failed = (infrastructure: boolean): ProbeRun => ({ ok: false, infrastructure });

describe('ignoresInput: one decision for the health statistic and the rejection', () => {
  it('several inputs of its own (induction): all outputs equal', () => {
    expect(ignoresInput([4, 4, 4], [])).toBe(true);
    expect(ignoresInput([4, 5, 4], [])).toBe(false);
  });

  it('one input: the same output on every probe input', () => {
    expect(ignoresInput([4], [ok(4), ok(4)])).toBe(true);
    expect(ignoresInput([4], [ok(4), ok(5)])).toBe(false);
    expect(ignoresInput(['ab'], [ok('ab')])).toBe(true);
  });

  it('a probe the program fails on shows a dependence; one the executor failed tells nothing', () => {
    expect(ignoresInput([4], [ok(4), failed(false)])).toBe(false);
    expect(ignoresInput([4], [ok(4), failed(true)])).toBeNull();
    expect(ignoresInput([4], [ok(5), failed(true)])).toBe(false);
  });

  it('unknown without a probe input', () => {
    expect(ignoresInput([4], [])).toBeNull();
    expect(ignoresInput([], [])).toBeNull();
  });
});

describe('probeInputs', () => {
  it('draws distinct argument lists other than the proposal’s own, the same for the same stream', () => {
    const program = 'function f(n, m) { return n + m; }';
    const a = probeInputs(program, '1, 2', new Rng(5).split('other/p1'), 4);
    expect(a).toHaveLength(4);
    expect(new Set(a).size).toBe(4);
    expect(a).not.toContain('1, 2');
    expect(probeInputs(program, '1, 2', new Rng(5).split('other/p1'), 4)).toEqual(a);
  });

  it('draws none for a program without a readable header', () => {
    expect(probeInputs('return 4;', '1', new Rng(5), 2)).toEqual([]);
  });
});
