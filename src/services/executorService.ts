// ExecutorEffect over the sandbox: validate proposals, run programs, grade answers; canonical output text → task-language values.

import {
  ignoresInput,
  lex,
  probeInputs,
  programParams,
  valueEquals,
  valueSource,
  valuesFromLexemes,
  type ProbeRun,
  type Rng,
  type Value,
} from '../azr/index.js';
import {
  INFRASTRUCTURE_ERRORS,
  type CheckRequest,
  type CheckResult,
  type ExecError,
  type ExecutorEffect,
  type ValidateRequest,
  type ValidateResult,
} from '../machines/effects.js';
import { checkAbductions, checkDeductions, checkInductions, type Sandbox } from '../sandbox/index.js';
import type { Job, RunResult as SandboxRunResult } from '../sandbox/types.js';
import { valueFromOutput } from '../pretrain/pretrainData.js';
import type { RunScenario } from '../config/schema.js';

/**
 * The scenario's `executor` admission options (src/config/schema.ts declares and documents them; absent: off, one
 * probe input), and the source of the generated probe inputs (split per proposal id, so the draw does not depend on
 * batching).
 */
type ExecutorServiceOptions = Partial<
  Pick<RunScenario['executor'], 'rejectInputIgnoring' | 'rejectArgumentCopy' | 'probeInputs'>
> & { readonly rng: Rng };

/** The argument values of an input's source for a program's parameters, or undefined if it does not lex. */
function argumentValues(program: string, input: string): Value[] | undefined {
  const params = programParams(program);
  if (params === undefined) return undefined;
  const lexed = lex(input, 'args', { params });
  return lexed.ok ? valuesFromLexemes(lexed.lexemes) : undefined;
}

/** Some argument position holds the output on every (input, output) run, and there are at least two runs. */
function copiesArgument(program: string, runs: readonly { input: string; output: Value }[]): boolean {
  if (runs.length < 2) return false;
  const args = runs.map((r) => argumentValues(program, r.input));
  if (args.some((a) => a === undefined)) return false;
  const arity = args[0]!.length;
  for (let j = 0; j < arity; j++)
    if (runs.every((r, i) => args[i]![j] !== undefined && valueEquals(args[i]![j]!, r.output))) return true;
  return false;
}

/** An output the sandbox produced that the task language cannot write (so no solver could answer it). */
const inexpressible = (text: string): ExecError => ({
  kind: 'inexpressible',
  message: `the output ${text.slice(0, 60)} is not a task-language value`,
});

function toValue(r: SandboxRunResult): { ok: true; value: Value } | { ok: false; error: ExecError } {
  if (!r.ok) return { ok: false, error: r.error };
  const value = valueFromOutput(r.output);
  return value === undefined ? { ok: false, error: inexpressible(r.output) } : { ok: true, value };
}

function toProbeRun(r: SandboxRunResult): ProbeRun {
  const v = toValue(r);
  return v.ok
    ? { ok: true, output: v.value }
    : { ok: false, infrastructure: INFRASTRUCTURE_ERRORS.includes(v.error.kind) };
}

/**
 * The executor over a `Sandbox` (the worker pool): one sandbox batch per call. Validation = static check, run
 * twice, equal results, and an expressible output for every input; a one-input proposal also runs once on each of
 * its probe inputs, in the same batch, which tell whether it ignores its input. A failed run is the program's fault
 * and an answer (ok: false with its kind); only `crashed`/`overloaded` are the executor's (the machines drop those).
 */
export class ExecutorService implements ExecutorEffect {
  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: ExecutorServiceOptions,
  ) {}

  async validate(requests: readonly ValidateRequest[]): Promise<ValidateResult[]> {
    const jobs: Job[] = [];
    // per request: its own inputs' jobs, then its probe inputs' (one-input proposals)
    const layout = requests.map((r) => {
      const first = jobs.length;
      for (const input of r.inputs)
        jobs.push({ type: 'validate', program: r.program, input, staticCheck: true, determinism: true });
      const probeArgs = r.inputs.length === 1 ? this.probeInputsOf(r) : [];
      for (const input of probeArgs)
        jobs.push({ type: 'validate', program: r.program, input, staticCheck: true, determinism: false });
      return { first, probeArgs };
    });
    const results = await this.sandbox.runBatch(jobs);
    return requests.map((r, at): ValidateResult => {
      const { first, probeArgs } = layout[at]!;
      const outputs: Value[] = [];
      let error: ExecError | null = null;
      for (let i = 0; i < r.inputs.length; i++) {
        const v = toValue(results[first + i]!);
        if (!v.ok) error ??= v.error;
        else outputs.push(v.value);
      }
      if (error !== null) return { id: r.id, ok: false, error };
      const probes = probeArgs.map((_, i) => toProbeRun(results[first + r.inputs.length + i]!));
      const inputIgnoring = ignoresInput(outputs, probes);
      if (this.options.rejectInputIgnoring && inputIgnoring === true)
        return {
          id: r.id,
          ok: false,
          error: { kind: 'input_ignoring', message: 'the program returns the same output on another input' },
        };
      // the runs argument-copying looks at: the proposal's own, then the probe inputs that ran
      const probed = probeArgs.flatMap((input, i) => {
        const p = probes[i]!;
        return p.ok ? [{ input, output: p.output }] : [];
      });
      const runs = [...r.inputs.map((input, i) => ({ input, output: outputs[i]! })), ...probed];
      if (this.options.rejectArgumentCopy && copiesArgument(r.program, runs))
        return {
          id: r.id,
          ok: false,
          error: {
            kind: 'copies_argument',
            message: `the program returns one of its arguments on all ${runs.length} inputs run`,
          },
        };
      return { id: r.id, ok: true, outputs, inputIgnoring };
    });
  }

  async check(requests: readonly CheckRequest[]): Promise<CheckResult[]> {
    const ded: { at: number; goldOutput: string; answer: string }[] = [];
    const abd: { at: number; program: string; goldOutput: string; answerInput: string }[] = [];
    const ind: { at: number; candidateProgram: string; hiddenPairs: { input: string; output: string }[] }[] = [];
    requests.forEach((r, at) => {
      if (r.type === 'deduction') ded.push({ at, goldOutput: valueSource(r.gold), answer: r.answer });
      else if (r.type === 'abduction')
        abd.push({ at, program: r.program, goldOutput: valueSource(r.gold), answerInput: r.answer });
      else
        ind.push({
          at,
          candidateProgram: r.program,
          hiddenPairs: r.hidden.map((h) => ({ input: h.input, output: valueSource(h.output) })),
        });
    });
    const [d, a, n] = await Promise.all([
      checkDeductions(this.sandbox, ded),
      checkAbductions(this.sandbox, abd),
      checkInductions(this.sandbox, ind),
    ]);
    const out: CheckResult[] = new Array(requests.length);
    const graded = (id: string, passed: number, total: number, error?: ExecError): CheckResult =>
      error !== undefined && (error.kind === 'crashed' || error.kind === 'overloaded')
        ? { id, ok: false, error }
        : { id, ok: true, passed, total, ...(error !== undefined ? { error } : {}) };
    ded.forEach((x, i) => (out[x.at] = graded(requests[x.at]!.id, d[i]!.correct ? 1 : 0, 1, d[i]!.error)));
    abd.forEach((x, i) => (out[x.at] = graded(requests[x.at]!.id, a[i]!.correct ? 1 : 0, 1, a[i]!.error)));
    ind.forEach((x, i) => {
      const c = n[i]!;
      const infra = c.results.find((r) => !r.ok && (r.error.kind === 'crashed' || r.error.kind === 'overloaded'));
      const firstError = c.results.find((r) => !r.ok);
      out[x.at] = graded(
        requests[x.at]!.id,
        c.perPair.filter(Boolean).length,
        x.hiddenPairs.length,
        infra && !infra.ok ? infra.error : firstError && !firstError.ok ? firstError.error : undefined,
      );
    });
    return out;
  }

  /** The probe inputs of a one-input proposal: from the service's stream, split per proposal id. */
  private probeInputsOf(r: ValidateRequest): string[] {
    return probeInputs(r.program, r.inputs[0]!, this.options.rng.split(`other/${r.id}`), this.options.probeInputs ?? 1);
  }
}
