// The executor service's admission checks on a real sandbox: input-ignoring and argument-copying programs are refused.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorService } from '../../src/services/executorService.js';
import { Rng } from '../../src/azr/rng.js';
import type { ValidateResult } from '../../src/machines/effects.js';
import { SandboxPool } from '../../src/sandbox/index.js';

let pool: SandboxPool;
beforeAll(() => {
  pool = new SandboxPool({ workers: 1 });
});
afterAll(async () => {
  await pool.close();
});

const kinds = (results: readonly ValidateResult[]) => results.map((r) => (r.ok ? 'ok' : r.error.kind));

describe('ExecutorService admission checks', () => {
  const programs = [
    { id: 'constant', program: 'function f(n) { return 7; }', inputs: ['3'] },
    { id: 'identity', program: 'function f(s) { return s; }', inputs: ['"ab"'] },
    {
      id: 'padded identity',
      program: 'function f(xs) { if (xs.length % 1 - 2 <= 3) return xs; return xs; }',
      inputs: ['[1, 2]'],
    },
    { id: 'second argument', program: 'function f(s, t) { return t; }', inputs: ['"a", "bc"'] },
    { id: 'real work', program: 'function f(n, m) { return n * 2 + m; }', inputs: ['3, 4'] },
    { id: 'max', program: 'function f(xs) { return Math.max(...xs, 0) + 1; }', inputs: ['[2, 5]'] },
    { id: 'induction copy', program: 'function f(n) { return n; }', inputs: ['1', '2', '3', '4'] },
    { id: 'induction work', program: 'function f(n) { return n + 1; }', inputs: ['1', '2', '3', '4'] },
  ];

  it('off (the paper): every program that runs is valid', async () => {
    const service = new ExecutorService(pool, { rng: new Rng(1) });
    expect(kinds(await service.validate(programs))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('decides input-ignoring once: the programs it reports when off are the ones it rejects when on', async () => {
    const options = { probeInputs: 2, rng: new Rng(3) };
    const off = await new ExecutorService(pool, options).validate(programs);
    const on = await new ExecutorService(pool, { ...options, rejectInputIgnoring: true }).validate(programs);
    const reported = off.flatMap((r) => (r.ok && r.inputIgnoring === true ? [r.id] : []));
    const rejected = on.flatMap((r) => (!r.ok && r.error.kind === 'input_ignoring' ? [r.id] : []));
    expect(reported).toContain('constant');
    expect(reported).not.toContain('real work');
    expect(rejected).toEqual(reported);
    // the programs it keeps still say whether they ignore their input (here: none does)
    expect(on.filter((r) => r.ok).map((r) => r.ok && r.inputIgnoring)).not.toContain(true);
  });

  it('rejectInputIgnoring refuses the constant program; rejectArgumentCopy refuses the ones that return an argument', async () => {
    const service = new ExecutorService(pool, {
      rejectInputIgnoring: true,
      rejectArgumentCopy: true,
      probeInputs: 4,
      rng: new Rng(1),
    });
    expect(kinds(await service.validate(programs))).toEqual([
      'input_ignoring',
      'copies_argument',
      'copies_argument',
      'copies_argument',
      'ok',
      'ok',
      'copies_argument',
      'ok',
    ]);
  });

  it('draws the probe inputs per proposal id: the same verdicts in any batch order', async () => {
    const service = (seed: number) =>
      new ExecutorService(pool, {
        rejectInputIgnoring: true,
        rejectArgumentCopy: true,
        probeInputs: 4,
        rng: new Rng(seed),
      });
    const forward = kinds(await service(2).validate(programs));
    const backward = kinds(await service(2).validate([...programs].reverse())).reverse();
    expect(backward).toEqual(forward);
  });
});
