// Ordinary programs: the sandbox must compute what Node computes (canonical forms compared), or fail where Node throws.
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalFromJs, reprValue } from '../../src/sandbox/canonical.js';
import type { SandboxPool } from '../../src/sandbox/pool.js';
import type { Isolation } from '../../src/sandbox/types.js';
import { CORPUS } from './corpus.js';
import { testPool, validateJob } from './helpers.js';

/** Node's answer: the program and the call in a fresh vm context, converted to canonical text. */
function nodeAnswer(program: string, input: string): { ok: true; output: string } | { ok: false } {
  try {
    const value = vm.runInNewContext(`${program}\n;f(${input});`, {}, { timeout: 2000 }) as unknown;
    return { ok: true, output: reprValue(canonicalFromJs(value)) };
  } catch {
    return { ok: false };
  }
}

const cases = CORPUS.flatMap((e) => e.inputs.map((input) => ({ ...e, input })));

describe.each<Isolation>(['hardened', 'fresh'])(
  'a corpus of ordinary programs agrees with Node (%s isolation)',
  (isolation) => {
    let pool: SandboxPool;
    beforeAll(async () => {
      pool = testPool({ isolation, limits: { interruptBudget: 20_000, wallClockMs: 5000 } });
      await pool.ready();
    });
    afterAll(() => pool.close());

    it('has at least 200 distinct programs across the categories', () => {
      expect(new Set(CORPUS.map((e) => e.program)).size).toBeGreaterThanOrEqual(200);
      expect(new Set(CORPUS.map((e) => e.category))).toEqual(
        new Set(['string', 'array', 'object', 'mapset', 'math', 'sort', 'error']),
      );
    });

    it(`gives Node's value for every program and input (${cases.length} runs)`, async () => {
      const results = await pool.runBatch(cases.map((c) => validateJob(c.program, c.input)));
      const mismatches: string[] = [];
      cases.forEach((c, i) => {
        const node = nodeAnswer(c.program, c.input);
        const r = results[i]!;
        const ours = r.ok ? r.output : `error ${r.error.kind}: ${r.error.message}`;
        const agree = node.ok ? r.ok && r.output === node.output : !r.ok && r.error.kind === 'runtime';
        if (!agree)
          mismatches.push(`${c.program} (${c.input}): node ${node.ok ? node.output : 'threw'}, sandbox ${ours}`);
      });
      expect(mismatches).toEqual([]);
    });
  },
);
