// The task-level API's contract (proposals, deduction, abduction and induction checks), written once and run against
// every Sandbox azr has: the in-process pool (tests/sandbox/tasks.test.ts) and the executor over NATS
// (tests/nats/natsSandbox.test.ts). Results must be the same, canonical output for canonical output.
import { describe, expect, it } from 'vitest';
import {
  checkAbduction,
  checkAbductions,
  checkDeduction,
  checkDeductions,
  checkInduction,
  validateProposal,
  validateProposals,
  type Sandbox,
} from '../../src/sandbox/tasks.js';

/** Declares the contract's tests; `sandbox()` is called inside each test (after the caller's beforeAll). */
export function describeTaskContract(sandbox: () => Sandbox): void {
  // one name for the transport under test, as the tests below were written against a pool
  const pool = new Proxy({} as Sandbox, {
    get: (_, key: keyof Sandbox) => {
      const sb = sandbox();
      return sb[key].bind(sb);
    },
  });
  const PARITY = 'function f(x) { return x % 2 === 0 ? "even" : "odd"; }';

  describe('validateProposal', () => {
    it('returns the canonical output of a valid proposal', async () => {
      expect(
        await validateProposal(pool, 'function f(a, b) { return { sum: a + b, parts: [a, b] }; }', '2, 3'),
      ).toEqual({
        ok: true,
        output: '{parts: [2, 3], sum: 5}',
      });
    });

    it('rejects banned, nondeterministic and failing proposals with the reason', async () => {
      expect(await validateProposal(pool, 'function f() { return Date.now(); }', '')).toMatchObject({
        ok: false,
        error: { kind: 'banned' },
      });
      expect(
        await validateProposal(pool, 'const seen = []; function f(x) { seen.push(x); return seen.length; }', '1'),
      ).toMatchObject({ ok: false, error: { kind: 'nondeterministic' } });
      expect(await validateProposal(pool, 'function f(x) { return x.y.z; }', '{}')).toMatchObject({
        ok: false,
        error: { kind: 'runtime' },
      });
    });

    it('validates a batch in order', async () => {
      const rs = await validateProposals(
        pool,
        [0, 1, 2].map((i) => ({ program: PARITY, input: String(i) })),
      );
      expect(rs).toEqual([
        { ok: true, output: '"even"' },
        { ok: true, output: '"odd"' },
        { ok: true, output: '"even"' },
      ]);
    });
  });

  describe('checkDeduction', () => {
    it('compares values, not spellings', async () => {
      expect(await checkDeduction(pool, '{a: [1, 2], b: "x"}', "{ b: 'x', a: [1, 2.0] }")).toEqual({
        correct: true,
        output: '{a: [1, 2], b: "x"}',
      });
      expect(await checkDeduction(pool, '{a: [1, 2], b: "x"}', '{ a: [2, 1], b: "x" }')).toMatchObject({
        correct: false,
      });
    });

    it('evaluates a non-literal answer in the sandbox', async () => {
      expect(await checkDeduction(pool, '[2, 4]', '[1, 2].map((x) => x * 2)')).toEqual({
        correct: true,
        output: '[2, 4]',
      });
    });

    it('reports an answer that cannot be evaluated as an error', async () => {
      expect(await checkDeduction(pool, '1', 'Date.now()')).toMatchObject({
        correct: false,
        error: { kind: 'banned' },
      });
      expect(await checkDeduction(pool, '1', '1) + (2')).toMatchObject({
        correct: false,
        error: { kind: 'bad_input' },
      });
      expect(await checkDeduction(pool, 'not a value', '1')).toMatchObject({
        correct: false,
        error: { kind: 'bad_input' },
      });
    });

    it('checks a batch', async () => {
      const rs = await checkDeductions(pool, [
        { goldOutput: '"odd"', answer: "'odd'" },
        { goldOutput: '"odd"', answer: '"even"' },
        { goldOutput: 'new Set([1, 2])', answer: 'new Set([2, 1, 2])' },
      ]);
      expect(rs.map((r) => r.correct)).toEqual([true, false, true]);
    });
  });

  describe('checkAbduction', () => {
    it('accepts any input that produces the gold output', async () => {
      const rs = await checkAbductions(
        pool,
        ['3', '5', '4'].map((answerInput) => ({ program: PARITY, goldOutput: '"odd"', answerInput })),
      );
      expect(rs.map((r) => r.correct)).toEqual([true, true, false]);
    });

    it('reports an answer input that is not an argument list', async () => {
      expect(await checkAbduction(pool, PARITY, '"odd"', '3); (1')).toMatchObject({
        correct: false,
        error: { kind: 'bad_input' },
      });
    });

    it('optionally accepts literal inputs only', async () => {
      expect(await checkAbduction(pool, PARITY, '"odd"', '[1, 2].length + 1')).toMatchObject({ correct: true });
      expect(await checkAbduction(pool, PARITY, '"odd"', '[1, 2].length + 1', { literalInput: true })).toMatchObject({
        correct: false,
        error: { kind: 'bad_input' },
      });
    });
  });

  describe('checkInduction', () => {
    const pairs = [
      { input: '1', output: '"odd"' },
      { input: '2', output: '"even"' },
      { input: '7', output: '"odd"' },
    ];

    it('passes a candidate that matches every hidden pair', async () => {
      const r = await checkInduction(pool, 'function f(n) { return n & 1 ? "odd" : "even"; }', pairs);
      expect(r).toMatchObject({ passed: true, perPair: [true, true, true] });
    });

    it('fails a candidate that misses one pair, with per-pair detail', async () => {
      const r = await checkInduction(pool, 'function f(n) { return n < 5 && n % 2 === 0 ? "even" : "odd"; }', [
        ...pairs,
        { input: '8', output: '"even"' },
      ]);
      expect(r.passed).toBe(false);
      expect(r.perPair).toEqual([true, true, true, false]);
      expect(r.results[3]).toEqual({ ok: true, output: '"odd"' });
    });

    it('runs each pair in a fresh state: a counter cannot tell the pairs apart', async () => {
      const r = await checkInduction(pool, 'let n = 0; function f() { n++; return n; }', [
        { input: '', output: '1' },
        { input: '', output: '2' },
      ]);
      expect(r.perPair).toEqual([true, false]);
    });

    it('fails a candidate that throws, with the error in the results', async () => {
      const r = await checkInduction(pool, 'function f() { throw new Error("no"); }', pairs.slice(0, 1));
      expect(r).toMatchObject({
        passed: false,
        perPair: [false],
        results: [{ ok: false, error: { kind: 'runtime' } }],
      });
    });

    it('does not pass an empty set of pairs', async () => {
      expect((await checkInduction(pool, PARITY, [])).passed).toBe(false);
    });
  });
}
