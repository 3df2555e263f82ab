// An `azr exec` request: one JSON line → a job, and a result → the answer line. Workers run whole request lines
// (Job type 'request'), so the main thread of `azr exec` only splits lines and writes answers.
import type { Job, RunResult } from './types.js';

const FIELDS = new Set(['program', 'input', 'expected']);

/** One JSON line → a job, or why it is not a request. */
export function parseRequest(
  line: string,
  validate: boolean,
): { job: Job & { type: 'validate' }; hasExpected: boolean } | { error: string } {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return { error: `not a JSON line: ${(e as Error).message}` };
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req))
    return { error: 'a request is a JSON object {"program", "input", "expected"?}' };
  const r = req as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!FIELDS.has(k)) return { error: `unknown field "${k}" (fields: program, input, expected)` };
  if (typeof r.program !== 'string') return { error: '"program" must be a string' };
  if (typeof r.input !== 'string') return { error: '"input" must be a string (the source text of an argument list)' };
  if (r.expected !== undefined && typeof r.expected !== 'string')
    return { error: '"expected" must be a string (a JavaScript expression)' };
  const job: Job & { type: 'validate' } = {
    type: 'validate',
    program: r.program,
    input: r.input,
    staticCheck: validate,
    determinism: validate,
  };
  if (typeof r.expected === 'string') job.expected = r.expected;
  return { job, hasExpected: typeof r.expected === 'string' };
}

/**
 * A result in the shape of its answer line: `{ok, output}`, `{ok, output, match}` when the request had an
 * `expected`, or `{ok, error: {kind, message}}` — so that the line is exactly `JSON.stringify` of it.
 */
export function answerShape(r: RunResult, hasExpected: boolean): RunResult {
  if (r.ok)
    return hasExpected ? { ok: true, output: r.output, match: r.match === true } : { ok: true, output: r.output };
  return { ok: false, error: { kind: r.error.kind, message: r.error.message } };
}
