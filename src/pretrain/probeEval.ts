// Probe evaluation: greedy, grammar-constrained solver answers for every held-out probe task, graded by the executor;
// optionally also k answers sampled at the training temperature per task, for pass@k.
//
// deduction: the answer value equals the gold output; abduction: f(answer) equals the gold output (any such input);
// induction: the answer program passes every hidden pair. An answer the grammar budget cut short is wrong.

import type { TraceScaffold } from '../azr/traceScaffold.js';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { programParams } from '../azr/tasks.js';
import { passAtK } from '../azr/passAtK.js';
import { parseProbeJsonl, TIERS, type ProbeTask, type Tier } from '../azr/probe.js';
import { render } from '../azr/lang/render.js';
import { DEFAULT_TRACE_BUDGETS } from '../azr/trace.js';
import { Rng } from '../azr/rng.js';
import { inductionSplit, TASK_TYPES, type TaskType } from '../azr/tasks.js';
import { valueSource } from '../azr/lang/value.js';
import { solverView } from '../azr/views.js';
import type { Gpt, GptConfig, Weights } from '../gpu/model.js';
import type { ProbeTaskResult } from '../machines/effects.js';
import { createOrtSessions, OrtDecoder, type OrtSessions } from '../gpu/rollout.js';
import { decode, TfjsDecoder, type IncrementalDecoder } from '../gpu/sampler.js';
import { answerConstraint, solverPrompt, tokenizer, type EncodedPrompt } from '../gpu/tokenizer.js';
import { checkAbductions, checkDeductions, checkInductions, type Sandbox } from '../sandbox/index.js';

/** The committed probe set. */
export const PROBE_FILE = fileURLToPath(new URL('../../scenarios/probe.jsonl', import.meta.url));

export async function loadProbeTasks(file: string = PROBE_FILE): Promise<ProbeTask[]> {
  return parseProbeJsonl(await readFile(file, 'utf8'));
}

/** Lexeme budgets of the answer segments (the longest value is 13 lexemes, the longest probe program 24). */
const PROBE_ANSWER_BUDGET: Readonly<Record<TaskType, number>> = { deduction: 16, abduction: 28, induction: 32 };

/** The model's context is too short for a probe task's prompt and answer (a scenario error, not a crash). */
export class ProbeContextError extends RangeError {
  override readonly name = 'ProbeContextError';
}

/** A probe prompt and the lexeme budgets of its answer's two segments (the reasoning trace, the answer). */
interface ProbePrompt {
  readonly task: ProbeTask;
  readonly encoded: EncodedPrompt;
  readonly budget: readonly [trace: number, answer: number];
}

/**
 * Every probe task's solver prompt and answer budgets (the trace's from `traceBudgets`, as the run's solver gets);
 * ProbeContextError when one does not fit `contextLength`.
 */
export function probePrompts(
  tasks: readonly ProbeTask[],
  contextLength: number,
  traceBudgets: Readonly<Record<TaskType, number>> = DEFAULT_TRACE_BUDGETS,
  traceScaffold: TraceScaffold = 'off',
): ProbePrompt[] {
  return tasks.map((task) => {
    const encoded = solverPrompt(solverView(task.task.type, task.task as never), { traceScaffold });
    const budget = [traceBudgets[task.task.type], PROBE_ANSWER_BUDGET[task.task.type]] as const;
    if (encoded.tokens.length + budget[0] + budget[1] + 2 > contextLength)
      throw new ProbeContextError(
        `probe task ${task.id}: a ${encoded.tokens.length}-token prompt and its answer do not fit a context of ${contextLength}`,
      );
    return { task, encoded, budget };
  });
}

/** Accuracy of a group of tasks, per type (null when the group has none of that type) and overall. */
export interface ProbeAccuracy {
  readonly deduction: number | null;
  readonly abduction: number | null;
  readonly induction: number | null;
  readonly overall: number;
}

/** k answers per task sampled at the training temperature: unbiased pass@k (n = k) and the mean sampled pass@1. */
interface SampledProbe {
  readonly k: number;
  readonly temperature: number;
  readonly passAtK: ProbeAccuracy;
  readonly passAtKByTier: Readonly<Record<Tier, ProbeAccuracy>>;
  readonly pass1: ProbeAccuracy;
  /** Share of sampled answers that reasoned first. */
  readonly traceShare: ProbeAccuracy;
}

/** The shape of the `probe.evaluated` event's payload, plus the per-task verdicts. */
export interface ProbeReport {
  readonly tasks: number;
  /** Greedy pass@1. */
  readonly accuracy: ProbeAccuracy;
  readonly byTier: Readonly<Record<Tier, ProbeAccuracy>>;
  /** With `samples` > 0: the sampled figures. */
  readonly sampled?: SampledProbe;
  /** Share of greedy answers that reasoned first (a non-empty trace), per type and overall. */
  readonly traceShare: ProbeAccuracy;
  /** Per task, in the probe's order: the answer graded (source; null = none well-formed), its verdict, its trace length. */
  readonly results: readonly ProbeTaskResult[];
  /** Wall-clock seconds of decoding plus grading. */
  readonly seconds: number;
}

/** A solver answer as source text (a value, an argument list, or a program), or null for no well-formed answer. */
export type ProbeAnswer = string | null;

/** A set of answers, one per probe task, with the length of each one's reasoning trace (lexemes; 0 = none). */
interface ProbeAnswers {
  readonly answers: readonly ProbeAnswer[];
  readonly traceLexemes: readonly number[];
}

/** Mean score per type (null when the group has none of that type) and overall; a score is 0/1 or a pass@k. */
function accuracyOf(tasks: readonly ProbeTask[], score: ReadonlyMap<ProbeTask, number | boolean>): ProbeAccuracy {
  const share = (ts: readonly ProbeTask[]) =>
    ts.length === 0 ? null : ts.reduce((n, t) => n + Number(score.get(t) ?? 0), 0) / ts.length;
  const of = (type: TaskType) => share(tasks.filter((t) => t.task.type === type));
  return {
    deduction: of('deduction'),
    abduction: of('abduction'),
    induction: of('induction'),
    overall: share(tasks) ?? 0,
  };
}

/** Whether each answer (aligned with `tasks`, which may repeat) is right, graded through the executor. */
async function gradeAnswers(
  sandbox: Sandbox,
  tasks: readonly ProbeTask[],
  answers: readonly ProbeAnswer[],
): Promise<boolean[]> {
  if (answers.length !== tasks.length)
    throw new RangeError(`${answers.length} answers for ${tasks.length} probe tasks`);
  const correct = tasks.map(() => false);
  const ded: { at: number; goldOutput: string; answer: string }[] = [];
  const abd: { at: number; program: string; goldOutput: string; answerInput: string }[] = [];
  const ind: { at: number; candidateProgram: string; hiddenPairs: { input: string; output: string }[] }[] = [];
  tasks.forEach((t, i) => {
    const a = answers[i];
    if (a === null || a === undefined) return;
    const task = t.task;
    if (task.type === 'deduction') ded.push({ at: i, goldOutput: valueSource(task.output), answer: a });
    else if (task.type === 'abduction')
      abd.push({ at: i, program: task.program, goldOutput: valueSource(task.output), answerInput: a });
    else
      ind.push({
        at: i,
        candidateProgram: a,
        hiddenPairs: inductionSplit(task).hidden.map((h) => ({ input: h.input, output: valueSource(h.output) })),
      });
  });
  const [d, ab, id] = await Promise.all([
    checkDeductions(sandbox, ded),
    checkAbductions(sandbox, abd),
    checkInductions(sandbox, ind),
  ]);
  ded.forEach((x, i) => (correct[x.at] = d[i]!.correct));
  abd.forEach((x, i) => (correct[x.at] = ab[i]!.correct));
  ind.forEach((x, i) => (correct[x.at] = id[i]!.passed));
  return correct;
}

const byTierOf = (
  tasks: readonly ProbeTask[],
  score: ReadonlyMap<ProbeTask, number | boolean>,
): Record<Tier, ProbeAccuracy> =>
  Object.fromEntries(
    TIERS.map((tier) => [
      tier,
      accuracyOf(
        tasks.filter((t) => t.tier === tier),
        score,
      ),
    ]),
  ) as Record<Tier, ProbeAccuracy>;

/**
 * Grades answers (aligned with `tasks`) through the executor. Answers are source text, so scripted answer sets
 * and model outputs are graded by exactly the same path.
 */
export async function gradeProbe(
  sandbox: Sandbox,
  tasks: readonly ProbeTask[],
  answers: readonly ProbeAnswer[] | ProbeAnswers,
  seconds = 0,
): Promise<ProbeReport> {
  const started = performance.now();
  const set = answerSet(answers);
  const verdicts = await gradeAnswers(sandbox, tasks, set.answers);
  const correct = new Map(tasks.map((t, i) => [t, verdicts[i]!]));
  const traced = new Map(tasks.map((t, i) => [t, (set.traceLexemes[i] ?? 0) > 0]));
  return {
    tasks: tasks.length,
    accuracy: accuracyOf(tasks, correct),
    byTier: byTierOf(tasks, correct),
    traceShare: accuracyOf(tasks, traced),
    results: tasks.map((t, i) => ({
      id: t.id,
      answer: set.answers[i] ?? null,
      correct: verdicts[i] === true,
      trace: set.traceLexemes[i] ?? 0,
    })),
    seconds: seconds + (performance.now() - started) / 1000,
  };
}

/**
 * pass@k of k sampled answer sets (`samples[j][i]`: sample j's answer to task i), with n = k (Chen et al.'s
 * estimator, src/azr/passAtK.ts), and the mean sampled pass@1.
 */
export async function gradeSampledProbe(
  sandbox: Sandbox,
  tasks: readonly ProbeTask[],
  sampleSets: readonly (readonly ProbeAnswer[] | ProbeAnswers)[],
  temperature: number,
): Promise<SampledProbe> {
  const sets = sampleSets.map(answerSet);
  const samples = sets.map((s) => s.answers);
  const k = samples.length;
  if (k === 0) throw new RangeError('pass@k needs at least one sample per task');
  const verdicts = await gradeAnswers(
    sandbox,
    samples.flatMap(() => tasks),
    samples.flat(),
  );
  const hits = tasks.map((_, i) => samples.reduce((n, _s, j) => n + (verdicts[j * tasks.length + i] ? 1 : 0), 0));
  const atK = new Map(tasks.map((t, i) => [t, passAtK(k, hits[i]!, k)]));
  const at1 = new Map(tasks.map((t, i) => [t, hits[i]! / k]));
  const traced = new Map(
    tasks.map((t, i) => [t, sets.reduce((n, s) => n + ((s.traceLexemes[i] ?? 0) > 0 ? 1 : 0), 0) / k]),
  );
  return {
    k,
    temperature,
    passAtK: accuracyOf(tasks, atK),
    passAtKByTier: byTierOf(tasks, atK),
    pass1: accuracyOf(tasks, at1),
    traceShare: accuracyOf(tasks, traced),
  };
}

/** Scripted answers (plain sources) carry no traces. */
function answerSet(a: readonly ProbeAnswer[] | ProbeAnswers): ProbeAnswers {
  return 'answers' in a ? a : { answers: a, traceLexemes: a.map(() => 0) };
}

/** The gold answer of a probe task as source text (the oracle: grades 100%). */
export function goldAnswer(t: ProbeTask): string {
  return t.task.type === 'deduction'
    ? valueSource(t.task.output)
    : t.task.type === 'abduction'
      ? t.task.input
      : t.task.program;
}

interface ProbeEvaluatorOptions {
  /** Lexeme budgets of the reasoning trace per type (the run's `policy.budgets.trace`). */
  readonly traceBudgets?: Readonly<Record<TaskType, number>>;
  /** Deduction traces follow their program (the run's `policy.traceScaffold`); default `off`: free. */
  readonly traceScaffold?: TraceScaffold;
  /** 'ort' (onnxruntime, default: faster) or 'tfjs' (the model's own forward). */
  readonly engine?: 'ort' | 'tfjs';
  /** Prompts decoded together. Default 128. */
  readonly batchSize?: number;
}

/**
 * Evaluates a policy on the probe set: prompts sorted by length and decoded greedily in batches under the answer
 * grammar, answers rendered to source and graded by the executor. Create once per run; evaluate as often as needed.
 */
export class ProbeEvaluator {
  private readonly prompts: ProbePrompt[];
  private readonly order: number[];

  private constructor(
    readonly tasks: readonly ProbeTask[],
    private readonly sandbox: Sandbox,
    readonly config: GptConfig,
    private readonly sessions: OrtSessions | null,
    private readonly batchSize: number,
    options: Pick<ProbeEvaluatorOptions, 'traceBudgets' | 'traceScaffold'>,
  ) {
    this.prompts = probePrompts(tasks, config.contextLength, options.traceBudgets, options.traceScaffold);
    this.order = this.prompts
      .map((_, i) => i)
      .sort((a, b) => this.prompts[a]!.encoded.tokens.length - this.prompts[b]!.encoded.tokens.length || a - b);
  }

  static async create(
    tasks: readonly ProbeTask[],
    sandbox: Sandbox,
    config: GptConfig,
    options: ProbeEvaluatorOptions = {},
  ): Promise<ProbeEvaluator> {
    const sessions = (options.engine ?? 'ort') === 'ort' ? await createOrtSessions(config) : null;
    return new ProbeEvaluator(tasks, sandbox, config, sessions, options.batchSize ?? 128, options);
  }

  /**
   * Answers of `policy` (a tfjs model, or weights for the onnxruntime engine), as source text: greedy, or sampled at
   * `temperature` with the draws of `rng`.
   */
  async answers(
    policy: Gpt | Weights,
    sampling: { temperature: number; rng: Rng } | null = null,
  ): Promise<ProbeAnswers> {
    let decoder: IncrementalDecoder;
    if (this.sessions !== null)
      decoder = new OrtDecoder(this.sessions, this.config, 'readWeights' in policy ? policy.readWeights() : policy);
    else {
      if (!('readWeights' in policy)) throw new Error('the tfjs probe engine needs the model, not weights');
      decoder = new TfjsDecoder(policy);
    }
    const out: ProbeAnswer[] = new Array(this.prompts.length).fill(null);
    const traceLexemes: number[] = new Array(this.prompts.length).fill(0);
    const rng = sampling?.rng ?? new Rng('probe'); // greedy decoding draws nothing; the sampler wants a source anyway
    try {
      for (let s = 0; s < this.order.length; s += this.batchSize) {
        const idx = this.order.slice(s, s + this.batchSize);
        const requests = idx.map((i) => {
          const p = this.prompts[i]!;
          const constraint = answerConstraint(p.encoded, p.budget); // a fresh automaton per evaluation
          return { prompt: p.encoded.tokens, constraint, maxNewTokens: constraint.maxTokens };
        });
        const completions = await decode(decoder, requests, {
          rng: rng.split(`batch${s}`),
          temperature: sampling?.temperature ?? 0,
          maxNewTokens: Math.max(...requests.map((r) => r.maxNewTokens)),
          recordMasks: false,
        });
        idx.forEach((i, k) => {
          const c = completions[k]!;
          if (c.stop !== 'constraint') return;
          const task = this.prompts[i]!.task.task;
          const [trace = [], segment = []] = tokenizer.segments(c.tokens);
          traceLexemes[i] = trace.length;
          try {
            if (task.type === 'deduction') out[i] = render(segment, 'value');
            else if (task.type === 'abduction')
              out[i] = render(segment, 'args', { params: programParams(task.program) ?? [] });
            else out[i] = render(segment, 'program', { params: programParams(task.program) ?? [] });
          } catch {
            out[i] = null;
          }
        });
      }
    } finally {
      decoder.dispose();
    }
    return { answers: out, traceLexemes };
  }

  /** Decode and grade: greedy, and with `samples.k` > 0 also k sampled answers per task (sample j draws from `rng.split('sample' + j)`). */
  async evaluate(
    policy: Gpt | Weights,
    samples: { k: number; temperature: number; rng: Rng } | null = null,
  ): Promise<ProbeReport> {
    const started = performance.now();
    const answers = await this.answers(policy);
    const greedy = await gradeProbe(this.sandbox, this.tasks, answers, (performance.now() - started) / 1000);
    if (samples === null || samples.k === 0) return greedy;
    const sets: ProbeAnswers[] = [];
    for (let j = 0; j < samples.k; j++)
      sets.push(await this.answers(policy, { temperature: samples.temperature, rng: samples.rng.split(`sample${j}`) }));
    const sampled = await gradeSampledProbe(this.sandbox, this.tasks, sets, samples.temperature);
    return { ...greedy, sampled, seconds: (performance.now() - started) / 1000 };
  }

  async release(): Promise<void> {
    if (this.sessions !== null) {
      await this.sessions.prefill.release();
      await this.sessions.decode.release();
    }
  }
}

/** `overall 12.5% (deduction 20.0%, abduction 17.5%, induction 0.0%)`. */
export function formatAccuracy(a: ProbeAccuracy): string {
  const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
  return `overall ${pct(a.overall)} (${TASK_TYPES.map((t) => `${t} ${pct(a[t])}`).join(', ')})`;
}
