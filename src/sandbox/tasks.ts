// The task-level API the rest of azr uses: validate proposals, check deduction / abduction / induction answers.
// Pure data in and out, async, never throws; all execution goes through a Sandbox (the pool, or a fake in tests).

import { equalCanonical, parseValue, reprValue, toCanonicalText } from './canonical.js';
import type { Job, RunResult, SandboxError } from './types.js';

/** What the task API needs from an executor: SandboxPool implements it; tests may pass a fake. */
export interface Sandbox {
  run(job: Job): Promise<RunResult>;
  runBatch(jobs: readonly Job[]): Promise<RunResult[]>;
}

/** A validated proposal: the canonical text of `f(input)`, or why the proposal is invalid. */
export type Validation = { ok: true; output: string } | { ok: false; error: SandboxError };

/** A graded answer. `error` explains a `correct: false` that came from a failure rather than a wrong value. */
export interface AnswerCheck {
  correct: boolean;
  /** Canonical text of the answer's value (deduction) or of f(answer) (abduction), when it ran. */
  output?: string;
  error?: SandboxError;
}

export interface InductionCheck {
  /** All hidden pairs pass (and there is at least one). */
  passed: boolean;
  perPair: boolean[];
  /** Per pair: f(input) as canonical text, or the error. */
  results: RunResult[];
}

export interface ValidateOptions {
  /** Static check and determinism check; default true. */
  validate?: boolean;
}

export interface AbductionOptions {
  /** Accept only literal values as the answer input (no calls or other expressions); default false (the paper). */
  literalInput?: boolean;
}

function validateJob(program: string, input: string, o: ValidateOptions = {}): Job {
  const v = o.validate ?? true;
  return { type: 'validate', program, input, staticCheck: v, determinism: v };
}

function toValidation(r: RunResult): Validation {
  return r.ok ? { ok: true, output: r.output } : r;
}

/** Validates a proposal: parses, passes the static check, runs `f(input)` twice within limits, equal results. */
export async function validateProposal(
  sb: Sandbox,
  program: string,
  input: string,
  options?: ValidateOptions,
): Promise<Validation> {
  return toValidation(await sb.run(validateJob(program, input, options)));
}

export async function validateProposals(
  sb: Sandbox,
  items: ReadonlyArray<{ program: string; input: string }>,
  options?: ValidateOptions,
): Promise<Validation[]> {
  return (await sb.runBatch(items.map((x) => validateJob(x.program, x.input, options)))).map(toValidation);
}

/**
 * Deduction: is the answer (a value text) equal to the gold output? A literal answer is compared on the host
 * (parsing a literal runs nothing); any other expression is evaluated in the sandbox with the static check.
 */
export async function checkDeduction(sb: Sandbox, goldOutput: string, answer: string): Promise<AnswerCheck> {
  return (await checkDeductions(sb, [{ goldOutput, answer }]))[0]!;
}

export async function checkDeductions(
  sb: Sandbox,
  items: ReadonlyArray<{ goldOutput: string; answer: string }>,
): Promise<AnswerCheck[]> {
  const out: AnswerCheck[] = new Array(items.length);
  const pending: Array<{ at: number; gold: string; job: Job }> = [];
  items.forEach(({ goldOutput, answer }, at) => {
    const gold = toCanonicalText(goldOutput);
    if (!gold.ok) {
      out[at] = {
        correct: false,
        error: { kind: 'bad_input', message: `the gold output is not a value: ${gold.error}` },
      };
      return;
    }
    const literal = parseValue(answer);
    if (literal.ok) {
      const text = reprValue(literal.value);
      out[at] = { correct: equalCanonical(gold.text, text), output: text };
    } else pending.push({ at, gold: gold.text, job: { type: 'evaluate', expression: answer, staticCheck: true } });
  });
  const results = await sb.runBatch(pending.map((p) => p.job));
  pending.forEach((p, i) => {
    const r = results[i]!;
    out[p.at] = r.ok
      ? { correct: equalCanonical(p.gold, r.output), output: r.output }
      : { correct: false, error: r.error };
  });
  return out;
}

/** Abduction: does `f(answerInput)` equal the gold output? Any input that produces it passes. */
export async function checkAbduction(
  sb: Sandbox,
  program: string,
  goldOutput: string,
  answerInput: string,
  options?: AbductionOptions,
): Promise<AnswerCheck> {
  return (await checkAbductions(sb, [{ program, goldOutput, answerInput }], options))[0]!;
}

export async function checkAbductions(
  sb: Sandbox,
  items: ReadonlyArray<{ program: string; goldOutput: string; answerInput: string }>,
  options: AbductionOptions = {},
): Promise<AnswerCheck[]> {
  const prepared = items.map((x) => checkJob(x.program, x.answerInput, x.goldOutput, options.literalInput));
  const results = await runSome(sb, prepared);
  return prepared.map((p, i) => ('error' in p ? { correct: false, error: p.error } : toAnswer(results[i]!)));
}

/** Induction: the candidate program must map every hidden input to its hidden output (binary), with per-pair detail. */
export async function checkInduction(
  sb: Sandbox,
  candidateProgram: string,
  hiddenPairs: ReadonlyArray<{ input: string; output: string }>,
): Promise<InductionCheck> {
  return (await checkInductions(sb, [{ candidateProgram, hiddenPairs }]))[0]!;
}

export async function checkInductions(
  sb: Sandbox,
  items: ReadonlyArray<{ candidateProgram: string; hiddenPairs: ReadonlyArray<{ input: string; output: string }> }>,
): Promise<InductionCheck[]> {
  // Every pair runs in its own fresh context: a stateful candidate cannot carry anything from one pair to the next.
  const prepared = items.flatMap((x) =>
    x.hiddenPairs.map((p) => checkJob(x.candidateProgram, p.input, p.output, false)),
  );
  const results = await runSome(sb, prepared);
  let k = 0;
  return items.map((x) => {
    const perPairResults: RunResult[] = [];
    const perPair: boolean[] = [];
    for (let i = 0; i < x.hiddenPairs.length; i++, k++) {
      const p = prepared[k]!;
      const r: RunResult = 'error' in p ? { ok: false, error: p.error } : results[k]!;
      perPairResults.push(r.ok ? { ok: true, output: r.output } : r);
      perPair.push(r.ok && r.match === true);
    }
    return { passed: perPair.length > 0 && perPair.every(Boolean), perPair, results: perPairResults };
  });
}

type Prepared = { job: Job } | { error: SandboxError };

function checkJob(program: string, input: string, goldOutput: string, literalInput: boolean | undefined): Prepared {
  const gold = toCanonicalText(goldOutput);
  if (!gold.ok) return { error: { kind: 'bad_input', message: `the gold output is not a value: ${gold.error}` } };
  return {
    job: { type: 'check', program, input, gold: gold.text, staticCheck: true, literalInput: literalInput ?? false },
  };
}

/** Runs the prepared jobs in one batch; the result array is aligned with `prepared` (holes where no job ran). */
async function runSome(sb: Sandbox, prepared: Prepared[]): Promise<Array<RunResult | undefined>> {
  const at: number[] = [];
  const jobs: Job[] = [];
  prepared.forEach((p, i) => {
    if ('job' in p) {
      at.push(i);
      jobs.push(p.job);
    }
  });
  const results = await sb.runBatch(jobs);
  const out: Array<RunResult | undefined> = new Array(prepared.length);
  at.forEach((i, k) => (out[i] = results[k]));
  return out;
}

function toAnswer(r: RunResult): AnswerCheck {
  return r.ok ? { correct: r.match === true, output: r.output } : { correct: false, error: r.error };
}
