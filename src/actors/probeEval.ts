// Probe evaluation: greedy, grammar-constrained solver answers for every held-out probe task, graded by the executor.
//
// deduction: the answer value equals the gold output; abduction: f(answer) equals the gold output (any such input);
// induction: the answer program passes every hidden pair. An answer the grammar budget cut short is wrong.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { programParams } from '../azr/tasks.js';
import { parseProbeJsonl, TIERS, type ProbeTask, type Tier } from '../azr/probe.js';
import { render } from '../azr/render.js';
import { Rng } from '../azr/rng.js';
import { inductionSplit, TASK_TYPES, type TaskType } from '../azr/tasks.js';
import { valueSource } from '../azr/value.js';
import { solverView } from '../azr/views.js';
import type { Gpt, GptConfig, Weights } from '../gpu/model.js';
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
export const PROBE_ANSWER_BUDGET: Readonly<Record<TaskType, number>> = { deduction: 16, abduction: 28, induction: 32 };

/** The model's context is too short for a probe task's prompt and answer (a scenario error, not a crash). */
export class ProbeContextError extends RangeError {
  override readonly name = 'ProbeContextError';
}

/** Every probe task's solver prompt and answer budget; ProbeContextError when one does not fit `contextLength`. */
export function probePrompts(tasks: readonly ProbeTask[], contextLength: number): { task: ProbeTask; encoded: EncodedPrompt; budget: number }[] {
  return tasks.map((task) => {
    const encoded = solverPrompt(solverView(task.task.type, task.task as never));
    const budget = PROBE_ANSWER_BUDGET[task.task.type];
    if (encoded.tokens.length + budget + 1 > contextLength)
      throw new ProbeContextError(`probe task ${task.id}: a ${encoded.tokens.length}-token prompt and its answer do not fit a context of ${contextLength}`);
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

/** The shape of the `probe.evaluated` event's payload, plus the per-task verdicts. */
export interface ProbeReport {
  readonly tasks: number;
  readonly accuracy: ProbeAccuracy;
  readonly byTier: Readonly<Record<Tier, ProbeAccuracy>>;
  /** Task id → correct. */
  readonly correct: Readonly<Record<string, boolean>>;
  /** Wall-clock seconds of decoding plus grading. */
  readonly seconds: number;
}

/** A solver answer as source text (a value, an argument list, or a program), or null for no well-formed answer. */
export type ProbeAnswer = string | null;

function accuracyOf(tasks: readonly ProbeTask[], correct: ReadonlyMap<ProbeTask, boolean>): ProbeAccuracy {
  const share = (ts: readonly ProbeTask[]) => (ts.length === 0 ? null : ts.filter((t) => correct.get(t) === true).length / ts.length);
  const of = (type: TaskType) => share(tasks.filter((t) => t.task.type === type));
  return { deduction: of('deduction'), abduction: of('abduction'), induction: of('induction'), overall: share(tasks) ?? 0 };
}

/**
 * Grades answers (aligned with `tasks`) through the executor. Answers are source text, so scripted answer sets
 * and model outputs are graded by exactly the same path.
 */
export async function gradeProbe(sandbox: Sandbox, tasks: readonly ProbeTask[], answers: readonly ProbeAnswer[], seconds = 0): Promise<ProbeReport> {
  if (answers.length !== tasks.length) throw new RangeError(`${answers.length} answers for ${tasks.length} probe tasks`);
  const started = performance.now();
  const correct = new Map<ProbeTask, boolean>();
  const ded: { at: ProbeTask; goldOutput: string; answer: string }[] = [];
  const abd: { at: ProbeTask; program: string; goldOutput: string; answerInput: string }[] = [];
  const ind: { at: ProbeTask; candidateProgram: string; hiddenPairs: { input: string; output: string }[] }[] = [];
  tasks.forEach((t, i) => {
    const a = answers[i];
    correct.set(t, false);
    if (a === null || a === undefined) return;
    const task = t.task;
    if (task.type === 'deduction') ded.push({ at: t, goldOutput: valueSource(task.output), answer: a });
    else if (task.type === 'abduction') abd.push({ at: t, program: task.program, goldOutput: valueSource(task.output), answerInput: a });
    else
      ind.push({
        at: t,
        candidateProgram: a,
        hiddenPairs: inductionSplit(task).hidden.map((h) => ({ input: h.input, output: valueSource(h.output) })),
      });
  });
  const [d, ab, id] = await Promise.all([checkDeductions(sandbox, ded), checkAbductions(sandbox, abd), checkInductions(sandbox, ind)]);
  ded.forEach((x, i) => correct.set(x.at, d[i]!.correct));
  abd.forEach((x, i) => correct.set(x.at, ab[i]!.correct));
  ind.forEach((x, i) => correct.set(x.at, id[i]!.passed));
  const byTier = Object.fromEntries(TIERS.map((tier) => [tier, accuracyOf(tasks.filter((t) => t.tier === tier), correct)])) as Record<Tier, ProbeAccuracy>;
  return {
    tasks: tasks.length,
    accuracy: accuracyOf(tasks, correct),
    byTier,
    correct: Object.fromEntries(tasks.map((t) => [t.id, correct.get(t) === true])),
    seconds: seconds + (performance.now() - started) / 1000,
  };
}

/** The gold answer of a probe task as source text (the oracle: grades 100%). */
export function goldAnswer(t: ProbeTask): string {
  return t.task.type === 'deduction' ? valueSource(t.task.output) : t.task.type === 'abduction' ? t.task.input : t.task.program;
}

export interface ProbeEvaluatorOptions {
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
  private readonly prompts: { task: ProbeTask; encoded: EncodedPrompt; budget: number }[];
  private readonly order: number[];

  private constructor(
    readonly tasks: readonly ProbeTask[],
    private readonly sandbox: Sandbox,
    readonly config: GptConfig,
    private readonly sessions: OrtSessions | null,
    private readonly batchSize: number,
  ) {
    this.prompts = probePrompts(tasks, config.contextLength);
    this.order = this.prompts.map((_, i) => i).sort((a, b) => this.prompts[a]!.encoded.tokens.length - this.prompts[b]!.encoded.tokens.length || a - b);
  }

  static async create(tasks: readonly ProbeTask[], sandbox: Sandbox, config: GptConfig, options: ProbeEvaluatorOptions = {}): Promise<ProbeEvaluator> {
    const sessions = (options.engine ?? 'ort') === 'ort' ? await createOrtSessions(config) : null;
    return new ProbeEvaluator(tasks, sandbox, config, sessions, options.batchSize ?? 128);
  }

  /** Greedy answers of `policy` (a tfjs model, or weights for the onnxruntime engine), as source text. */
  async answers(policy: Gpt | Weights): Promise<ProbeAnswer[]> {
    let decoder: IncrementalDecoder;
    if (this.sessions !== null) decoder = new OrtDecoder(this.sessions, this.config, 'readWeights' in policy ? policy.readWeights() : policy);
    else {
      if (!('readWeights' in policy)) throw new Error('the tfjs probe engine needs the model, not weights');
      decoder = new TfjsDecoder(policy);
    }
    const out: ProbeAnswer[] = new Array(this.prompts.length).fill(null);
    const rng = new Rng('probe'); // greedy decoding draws nothing; the sampler wants a source anyway
    try {
      for (let s = 0; s < this.order.length; s += this.batchSize) {
        const idx = this.order.slice(s, s + this.batchSize);
        const requests = idx.map((i) => {
          const p = this.prompts[i]!;
          const constraint = answerConstraint(p.encoded, p.budget); // a fresh automaton per evaluation
          return { prompt: p.encoded.tokens, constraint, maxNewTokens: p.budget + 1 };
        });
        const completions = await decode(decoder, requests, { rng, temperature: 0, maxNewTokens: 64, recordMasks: false });
        idx.forEach((i, k) => {
          const c = completions[k]!;
          if (c.stop !== 'constraint') return;
          const task = this.prompts[i]!.task.task;
          const segment = tokenizer.segments(c.tokens)[0] ?? [];
          try {
            if (task.type === 'deduction') out[i] = render(segment, 'value');
            else if (task.type === 'abduction') out[i] = render(segment, 'args', { params: programParams(task.program) ?? [] });
            else out[i] = render(segment, 'program', { params: programParams(task.program) ?? [] });
          } catch {
            out[i] = null;
          }
        });
      }
    } finally {
      decoder.dispose();
    }
    return out;
  }

  /** Decode and grade. */
  async evaluate(policy: Gpt | Weights): Promise<ProbeReport> {
    const started = performance.now();
    const answers = await this.answers(policy);
    return gradeProbe(this.sandbox, this.tasks, answers, (performance.now() - started) / 1000);
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
