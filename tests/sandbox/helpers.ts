// Shared helpers for the sandbox tests: pools with small limits, one-line job builders, a health check.
import { expect } from 'vitest';
import { SandboxPool, type PoolOptions } from '../../src/sandbox/pool.js';
import type { Job, RunResult } from '../../src/sandbox/types.js';

/**
 * Small limits so that attacks that must time out do so quickly (tests never assert timings). Runaway JS is stopped
 * by the instruction budget (about 0.1 s of QuickJS work), which does not depend on how busy the machine is; the
 * wall-clock deadline and watchdog are generous for the same reason.
 */
export const TEST_LIMITS = {
  interruptBudget: 3000,
  timeoutMs: 5000,
  wallClockMs: 1500,
  memoryBytes: 16 * 1024 * 1024,
} as const;

export function testPool(options: PoolOptions = {}): SandboxPool {
  return new SandboxPool({ workers: 2, ...options, limits: { ...TEST_LIMITS, ...options.limits } });
}

export function validateJob(program: string, input = '', o: { validate?: boolean; expected?: string } = {}): Job {
  const v = o.validate ?? true;
  const job: Job = { type: 'validate', program, input, staticCheck: v, determinism: v };
  if (o.expected !== undefined) job.expected = o.expected;
  return job;
}

export function run(
  pool: SandboxPool,
  program: string,
  input = '',
  o: { validate?: boolean; expected?: string } = {},
): Promise<RunResult> {
  return pool.run(validateJob(program, input, o));
}

export function expectOk(r: RunResult, output: string): void {
  expect(r).toEqual({ ok: true, output });
}

export function expectError(r: RunResult, ...kinds: string[]): void {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  if (!r.ok) expect(kinds, JSON.stringify(r)).toContain(r.error.kind);
}

/** After an attack: an ordinary program still runs and gives the right value. */
export async function expectHealthy(pool: SandboxPool): Promise<void> {
  const r = await run(
    pool,
    'function f(s, n) { return { s: s.split("").reverse().join(""), n: n * 2, list: [n, n + 1] }; }',
    '"abc", 21',
  );
  expectOk(r, '{list: [21, 22], n: 42, s: "cba"}');
}
