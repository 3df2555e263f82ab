// The coordinator's arithmetic per phase: requests it sends, rewards (always src/azr's), and the events they make.

import {
  inductionSplit,
  learnabilityReward,
  solverReward,
  solverView,
  valueSource,
  type InductionAccuracy,
  type InductionTask,
  type Task,
  type TaskOf,
  type TaskType,
  type Triplet,
  type UnlearnableReward,
  type Value,
} from '../azr/index.js';
import { eventBody, type RunEventBody } from '../streams/events.js';
import type { CheckRequest, CheckResult, ScoredRollout, Slot } from './effects.js';
import type { ValidateItem, Validated } from './executorMachine.js';
import type { Answer, Proposal } from './protocol.js';
import type { SolveItem } from './solverMachine.js';

/** What one task type's half-step has gathered so far (reset for each type). */
export interface TypeWork {
  readonly proposals: readonly Proposal[];
  readonly validations: Readonly<Record<string, Validated>>;
  /** Monte Carlo successes (0/1) per valid proposal id. */
  readonly mc: Readonly<Record<string, readonly number[]>>;
  readonly mcAnswers: readonly Answer[];
  /** Valid proposals whose learnability could not be estimated (the estimate's batch failed): not trained. */
  readonly unestimated: readonly string[];
  readonly answers: readonly Answer[];
  readonly checks: Readonly<Record<string, CheckResult>>;
  /** Rollout ids that will not be trained on (their slots are released). */
  readonly dropped: readonly string[];
}

export const EMPTY_WORK: TypeWork = {
  proposals: [],
  validations: {},
  mc: {},
  mcAnswers: [],
  unestimated: [],
  answers: [],
  checks: {},
  dropped: [],
};

/** Per-step tallies behind the `health` event. */
export interface StepStats {
  readonly proposals: number;
  readonly valid: number;
  readonly estimated: number;
  readonly learnable: number;
  readonly learnabilitySum: number;
  readonly inputKnown: number;
  readonly inputIgnoring: number;
  /** Valid tasks not buffered: their program was at `maxProgramShare` of its buffer. */
  readonly capped: number;
  readonly programs: readonly string[];
}

export const EMPTY_STATS: StepStats = {
  proposals: 0,
  valid: 0,
  estimated: 0,
  learnable: 0,
  learnabilitySum: 0,
  inputKnown: 0,
  inputIgnoring: 0,
  capped: 0,
  programs: [],
};

/** A rollout and the slot it goes through to the learner. */
export interface Push {
  readonly slot: Slot;
  readonly rollout: ScoredRollout;
}

const MC_SUFFIX = '#mc';

/** The task a valid proposal makes: a triplet, or (induction) the program with its N inputs, outputs and message. */
function proposalTask(p: Proposal, v: Extract<Validated, { ok: true }>): Task {
  if (!p.parsed.ok) throw new Error(`proposal ${p.id} did not parse`);
  if (p.type === 'induction')
    return {
      program: p.parsed.program,
      inputs: p.parsed.inputs,
      outputs: v.outputs,
      message: p.parsed.message ?? '',
    } satisfies InductionTask;
  return { program: p.parsed.program, input: p.parsed.inputs[0]!, output: v.outputs[0]! } satisfies Triplet;
}

/** The valid proposals with their tasks, in proposal order. */
export function validProposals(w: TypeWork): { proposal: Proposal; task: Task }[] {
  const out: { proposal: Proposal; task: Task }[] = [];
  for (const p of w.proposals) {
    const v = w.validations[p.id];
    if (v?.ok) out.push({ proposal: p, task: proposalTask(p, v) });
  }
  return out;
}

/** The valid proposals a training step buffers: all (`valid`, paper) or those whose learnability estimate was 0 < p̂ < 1. */
export function admittedProposals(w: TypeWork, admit: 'valid' | 'learnable'): { proposal: Proposal; task: Task }[] {
  const valid = validProposals(w);
  if (admit === 'valid') return valid;
  return valid.filter(({ proposal }) => {
    const mc = w.mc[proposal.id];
    if (mc === undefined || mc.length === 0) return false;
    const mean = mc.reduce((a, b) => a + b, 0) / mc.length;
    return mean > 0 && mean < 1;
  });
}

/** Proposals that parsed, as the executor's batch. */
export function validateItems(w: TypeWork): ValidateItem[] {
  return w.proposals.flatMap((p) =>
    p.completion && p.parsed.ok ? [{ id: p.id, type: p.type, program: p.parsed.program, inputs: p.parsed.inputs }] : [],
  );
}

/** The solver items that estimate each valid proposal's learnability (its solver view; n samples each). */
export function learnabilityItems(type: TaskType, w: TypeWork): SolveItem[] {
  return validProposals(w).map(({ proposal, task }) => ({
    id: proposal.id + MC_SUFFIX,
    type,
    view: solverView(type, task as TaskOf<typeof type>),
  }));
}

/** The executor check of a well-formed answer to `task`. */
function checkRequest(id: string, type: TaskType, task: Task, answer: string): CheckRequest {
  if (type === 'induction') return { id, type, program: answer, hidden: inductionSplit(task as InductionTask).hidden };
  const t = task as Triplet;
  return type === 'deduction'
    ? { id, type, gold: t.output, answer }
    : { id, type, program: t.program, gold: t.output, answer };
}

/** Checks for the well-formed answers among `answers`, whose tasks `taskOf(itemId)` gives. */
export function checkRequests(answers: readonly Answer[], taskOf: (itemId: string) => Task): CheckRequest[] {
  return answers.flatMap((a) =>
    a.completion && a.parsed.ok ? [checkRequest(a.id, a.type, taskOf(a.itemId), a.parsed.answer)] : [],
  );
}

/** The task of each Monte Carlo item, by item id. */
export function mcTaskOf(w: TypeWork): (itemId: string) => Task {
  const tasks = new Map(validProposals(w).map(({ proposal, task }) => [proposal.id + MC_SUFFIX, task]));
  return (itemId) => tasks.get(itemId)!;
}

/**
 * The n Monte Carlo outcomes of each valid proposal, 0/1: 1 when every check of the answer held (binary
 * success: the learnability estimate uses the paper's binary grading). A format error, a policy failure, a failed run or a check
 * the executor could not do (the original's `None`) counts 0.
 */
export function mcSuccesses(
  w: TypeWork,
  answers: readonly Answer[],
  checks: Readonly<Record<string, CheckResult>>,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { proposal } of validProposals(w)) out[proposal.id] = [];
  for (const a of answers) {
    const c = checks[a.id];
    const success = a.parsed.ok && c?.ok === true && c.passed === c.total && c.total > 0 ? 1 : 0;
    out[a.itemId.slice(0, -MC_SUFFIX.length)]?.push(success);
  }
  return out;
}

function outputText(outputs: readonly Value[], type: TaskType): string | string[] {
  return type === 'induction' ? outputs.map(valueSource) : valueSource(outputs[0]!);
}

/**
 * rewardProposals: r_propose = learnabilityReward (paper Eq. 4 with −1 for invalid, src/azr) for every proposal
 * that came back from the policy and was judged; one `proposal.validated` event each; the trained ones pushed.
 */
export function rewardProposals(
  step: number,
  w: TypeWork,
  options: { unlearnable: UnlearnableReward; bonus?: ReadonlyMap<string, number> },
): { events: RunEventBody[]; pushes: Push[]; stats: Omit<StepStats, 'programs' | 'capped'>; programs: string[] } {
  const events: RunEventBody[] = [];
  const pushes: Push[] = [];
  const stats = {
    proposals: 0,
    valid: 0,
    estimated: 0,
    learnable: 0,
    learnabilitySum: 0,
    inputKnown: 0,
    inputIgnoring: 0,
  };
  const programs: string[] = [];
  const dropped = new Set(w.dropped);
  for (const p of w.proposals) {
    if (!p.completion) continue; // a policy failure: reported as an error when it came back
    if (p.parsed.program !== '') programs.push(p.parsed.program);
    const v = w.validations[p.id];
    if (p.parsed.ok && v === undefined) continue; // never judged (the executor failed): reported, dropped
    if (v !== undefined && !v.ok && v.infrastructure) continue;
    stats.proposals++;
    const input = p.type === 'induction' ? [...p.parsed.inputs] : (p.parsed.inputs[0] ?? '');
    const message = p.type === 'induction' && p.parsed.message !== undefined ? { message: p.parsed.message } : {};
    let reward: number;
    if (v?.ok) {
      stats.valid++;
      if (v.inputIgnoring !== null) {
        stats.inputKnown++;
        if (v.inputIgnoring) stats.inputIgnoring++;
      }
      const successes = w.mc[p.id];
      const estimated = successes !== undefined && successes.length > 0 && !w.unestimated.includes(p.id);
      // The event's learnability is the paper's rule (0 when trivial or impossible); the reward may differ (minusHalf).
      const learnability = estimated
        ? learnabilityReward({ valid: true, successes: successes! }, { unlearnable: 'zero' })
        : null;
      const bonus = estimated ? options.bonus?.get(p.id) : undefined;
      if (estimated) {
        stats.estimated++;
        stats.learnabilitySum += learnability!;
        if (learnability! > 0) stats.learnable++;
      }
      events.push(
        eventBody('proposal.validated', {
          rolloutId: p.id,
          task: p.type,
          valid: true,
          program: p.parsed.program,
          input,
          output: outputText(v.outputs, p.type),
          ...message,
          mcSuccesses: estimated ? (successes!.map((s) => (s === 1 ? 1 : 0)) as (0 | 1)[]) : [],
          learnability,
          ...(bonus !== undefined ? { novelty: bonus } : {}),
        }),
      );
      if (!estimated) continue;
      reward = learnabilityReward({ valid: true, successes: successes! }, options) + (bonus ?? 0);
    } else {
      const error = v !== undefined && !v.ok ? v.error.kind : 'format';
      events.push(
        eventBody('proposal.validated', {
          rolloutId: p.id,
          task: p.type,
          valid: false,
          error,
          program: p.parsed.program,
          input,
          output: null,
          ...message,
          mcSuccesses: [],
          learnability: null,
        }),
      );
      reward = learnabilityReward({ valid: false });
    }
    if (p.slot && !dropped.has(p.id))
      pushes.push({
        slot: p.slot,
        rollout: {
          id: p.id,
          role: 'propose',
          type: p.type,
          reward,
          tokens: p.completion.tokens,
          policyVersion: p.completion.policyVersion,
          step,
          ...(p.completion.trace ? { trace: p.completion.trace } : {}),
        },
      });
  }
  return { events, pushes, stats, programs };
}

/** rewardSolutions: r_solve = solverReward (−1 format, −0.5 wrong, else accuracy; src/azr) for each answer kept. */
export function rewardSolutions(step: number, w: TypeWork, options: { induction: InductionAccuracy }): Push[] {
  const pushes: Push[] = [];
  const dropped = new Set(w.dropped);
  for (const a of w.answers) {
    if (!a.completion || !a.slot || dropped.has(a.id)) continue;
    let reward: number;
    if (!a.parsed.ok) reward = solverReward({ kind: 'formatError' }, a.type);
    else {
      const c = w.checks[a.id];
      if (c === undefined || !c.ok) continue; // not graded: dropped and reported
      reward = solverReward({ kind: 'graded', passed: c.passed, total: c.total }, a.type, options);
    }
    pushes.push({
      slot: a.slot,
      rollout: {
        id: a.id,
        role: 'solve',
        type: a.type,
        reward,
        tokens: a.completion.tokens,
        policyVersion: a.completion.policyVersion,
        step,
        group: a.itemId,
        ...(a.completion.trace ? { trace: a.completion.trace } : {}),
        ...(a.reasoning ? { reasoning: a.reasoning } : {}),
      },
    });
  }
  return pushes;
}

/** A share, or null when there was nothing to measure. */
export function share(n: number, d: number): number | null {
  return d > 0 ? n / d : null;
}

export function addStats(
  a: StepStats,
  b: Omit<StepStats, 'programs' | 'capped'>,
  programs: readonly string[],
): StepStats {
  return {
    proposals: a.proposals + b.proposals,
    valid: a.valid + b.valid,
    estimated: a.estimated + b.estimated,
    learnable: a.learnable + b.learnable,
    learnabilitySum: a.learnabilitySum + b.learnabilitySum,
    inputKnown: a.inputKnown + b.inputKnown,
    inputIgnoring: a.inputIgnoring + b.inputIgnoring,
    capped: a.capped,
    programs: [...a.programs, ...programs],
  };
}
