// ExecutorEffect over the sandbox: validate proposals, run programs, grade answers; canonical output text → task-language values.

import { argsSource, generateArgs, programParams, valueEquals, valueSource, type Rng, type Value } from '../azr/index.js';
import type {
  CheckRequest,
  CheckResult,
  ExecError,
  ExecutorEffect,
  RunRequest,
  RunResult,
  ValidateRequest,
  ValidateResult,
} from '../machines/effects.js';
import { checkAbductions, checkDeductions, checkInductions, type Sandbox } from '../sandbox/index.js';
import type { Job, RunResult as SandboxRunResult } from '../sandbox/types.js';
import { valueFromOutput } from './pretrainData.js';

export interface ExecutorServiceOptions {
  /**
   * Anti-degeneracy (off = the paper): a deduction/abduction proposal whose program gives the same output on a second,
   * generated input is invalid (kind `input_ignoring`); an induction proposal whose N outputs are all equal likewise.
   */
  readonly rejectInputIgnoring?: boolean;
  /** Source of the second inputs (split per proposal id, so the draw does not depend on batching). */
  readonly rng?: Rng;
}

/** An output the sandbox produced that the task language cannot write (so no solver could answer it). */
const inexpressible = (text: string): ExecError => ({ kind: 'inexpressible', message: `the output ${text.slice(0, 60)} is not a task-language value` });

function toValue(r: SandboxRunResult): { ok: true; value: Value } | { ok: false; error: ExecError } {
  if (!r.ok) return { ok: false, error: r.error };
  const value = valueFromOutput(r.output);
  return value === undefined ? { ok: false, error: inexpressible(r.output) } : { ok: true, value };
}

/**
 * The executor over a `Sandbox` (the worker pool): one sandbox batch per call. Validation = static check, run
 * twice, equal results, and an expressible output for every input. A failed run is the program's fault and an
 * answer (ok: false with its kind); only `crashed`/`overloaded` are the executor's (the machines drop those).
 */
export class ExecutorService implements ExecutorEffect {
  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: ExecutorServiceOptions = {},
  ) {
    if (options.rejectInputIgnoring && options.rng === undefined) throw new Error('rejectInputIgnoring needs an rng for the second inputs');
  }

  async validate(requests: readonly ValidateRequest[]): Promise<ValidateResult[]> {
    const jobs: Job[] = [];
    const probes: { at: number; job: number }[] = [];
    for (const [at, r] of requests.entries()) {
      for (const input of r.inputs) jobs.push({ type: 'validate', program: r.program, input, staticCheck: true, determinism: true });
      const other = this.options.rejectInputIgnoring && r.inputs.length === 1 ? this.otherInput(r) : undefined;
      if (other !== undefined) {
        probes.push({ at, job: jobs.length });
        jobs.push({ type: 'validate', program: r.program, input: other, staticCheck: true, determinism: false });
      }
    }
    const results = await this.sandbox.runBatch(jobs);
    const probeOf = new Map(probes.map((p) => [p.at, p.job]));
    let k = 0;
    return requests.map((r, at): ValidateResult => {
      const outputs: Value[] = [];
      let error: ExecError | null = null;
      for (let i = 0; i < r.inputs.length; i++, k++) {
        const v = toValue(results[k]!);
        if (!v.ok) error ??= v.error;
        else outputs.push(v.value);
      }
      const probeJob = probeOf.get(at);
      if (probeJob !== undefined) k++;
      if (error !== null) return { id: r.id, ok: false, error };
      if (this.options.rejectInputIgnoring) {
        let ignores = false;
        if (r.inputs.length > 1) ignores = outputs.every((o) => valueEquals(o, outputs[0]!));
        else if (probeJob !== undefined) {
          const second = toValue(results[probeJob]!);
          ignores = second.ok && valueEquals(second.value, outputs[0]!);
        }
        if (ignores) return { id: r.id, ok: false, error: { kind: 'input_ignoring', message: 'the program returns the same output on another input' } };
      }
      return { id: r.id, ok: true, outputs };
    });
  }

  async run(requests: readonly RunRequest[]): Promise<RunResult[]> {
    const results = await this.sandbox.runBatch(requests.map((r) => ({ type: 'validate', program: r.program, input: r.input, staticCheck: true, determinism: false })));
    return requests.map((r, i): RunResult => {
      const v = toValue(results[i]!);
      return v.ok ? { id: r.id, ok: true, output: v.value } : { id: r.id, ok: false, error: v.error };
    });
  }

  async check(requests: readonly CheckRequest[]): Promise<CheckResult[]> {
    const ded: { at: number; goldOutput: string; answer: string }[] = [];
    const abd: { at: number; program: string; goldOutput: string; answerInput: string }[] = [];
    const ind: { at: number; candidateProgram: string; hiddenPairs: { input: string; output: string }[] }[] = [];
    requests.forEach((r, at) => {
      if (r.type === 'deduction') ded.push({ at, goldOutput: valueSource(r.gold), answer: r.answer });
      else if (r.type === 'abduction') abd.push({ at, program: r.program, goldOutput: valueSource(r.gold), answerInput: r.answer });
      else ind.push({ at, candidateProgram: r.program, hiddenPairs: r.hidden.map((h) => ({ input: h.input, output: valueSource(h.output) })) });
    });
    const [d, a, n] = await Promise.all([checkDeductions(this.sandbox, ded), checkAbductions(this.sandbox, abd), checkInductions(this.sandbox, ind)]);
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

  /** A second argument list for a one-input proposal, different from its own, or undefined. */
  private otherInput(r: ValidateRequest): string | undefined {
    const params = programParams(r.program);
    if (params === undefined || params.length === 0) return undefined;
    const rng = this.options.rng!.split(`other/${r.id}`);
    for (let i = 0; i < 8; i++) {
      const other = argsSource(generateArgs(rng, params));
      if (other !== r.inputs[0]) return other;
    }
    return undefined;
  }
}
