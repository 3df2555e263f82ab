// The coordinator's context, input and output, and the small reads of its context that its states and guards share.

import { Rng, type RngState, type TaskType } from '../../azr/index.js';
import { eventBody, type Phase, type RunEventBody } from '../../streams/events.js';
import type { BufferReply, BufferSizes, BufferSnapshots, DrawnTask } from '../bufferMachine.js';
import { resolveConfig, type CoordinatorConfig, type CoordinatorConfigInput } from '../config.js';
import type { CheckpointData } from '../effects.js';
import type { ExecutorReply } from '../executorMachine.js';
import type { LearnerReply } from '../learnerMachine.js';
import { EMPTY_STATS, EMPTY_WORK, type StepStats, type TypeWork } from '../phases.js';
import type { ProposerReply } from '../proposerMachine.js';
import type { SolverReply } from '../solverMachine.js';

/** The actors the coordinator runs, by name (also their system ids). */
const ACTOR_NAMES = ['buffer', 'proposer', 'solver', 'executor', 'learner'] as const;
export type ActorName = (typeof ACTOR_NAMES)[number];

export interface CoordinatorInput {
  readonly config: CoordinatorConfigInput;
  /** Resume from this checkpoint: at step checkpoint.step + 1 (or back into seeding, if it was not finished). */
  readonly resume?: CheckpointData;
  /**
   * The seq the next run event will get (an `EventBus`'s `nextSeq`). Lets a checkpoint taken during seeding say where
   * the log of the rounds it covers ends, so a resume can cut the rest (all of seeding is step 0). Default: none.
   */
  readonly eventSeq?: () => number;
  /** Milliseconds, for step durations only (default: always 0). Never used for decisions. */
  readonly clock?: () => number;
}

/**
 * Where a run's events go (`EventBus` implements it): the coordinator's `emit` and `enterStep` actions are provided
 * with one (see withEffects.ts).
 */
export interface EventSink {
  emit(body: RunEventBody): unknown;
  /** Moves the stream to a new step (events carry the step they were emitted in). */
  setStep?(step: number): void;
}

export type CoordinatorEvent =
  { readonly type: 'STOP' } | ProposerReply | SolverReply | ExecutorReply | LearnerReply | BufferReply;

export interface CoordinatorOutput {
  readonly reason: 'completed' | 'interrupted';
  /** Training steps completed. */
  readonly steps: number;
}

export interface CoordinatorContext {
  readonly config: CoordinatorConfig;
  readonly rng: { readonly root: RngState; readonly actors: Readonly<Record<ActorName, RngState>> };
  /** Injected (not data): the coordinator is restored from CheckpointData, never from a persisted snapshot. */
  readonly eventSeq: (() => number) | null;
  readonly clock: () => number;
  readonly resume: CheckpointData | null;
  /** The step being run (0 while seeding). */
  readonly step: number;
  /** Last step whose learn phase finished. */
  readonly completed: number;
  /** Async: the step whose update the learner is making while the next step runs; null when none. */
  readonly learning: number | null;
  readonly policyVersion: number;
  readonly seeded: boolean;
  readonly sizes: BufferSizes;
  /** Seeding: propose rounds so far per type (the one in flight included). */
  readonly seedRounds: Readonly<Record<TaskType, number>>;
  /** Seeding: the event seq at which the round in flight began (null: the sink does not number events). */
  readonly seedMark: number | null;
  /**
   * The one current type: the type whose half-step is running, or (seeding) whose round is; null before seeding's
   * first round and between seeding and the first step (then read as config.taskTypes[0], see currentType).
   */
  readonly taskType: TaskType | null;
  readonly solverTasks: Readonly<Partial<Record<TaskType, readonly DrawnTask[]>>>;
  readonly work: TypeWork;
  /** Rollouts pushed to the learner this step (what `endStep` waits for). */
  readonly pushed: readonly {
    readonly id: string;
    readonly role: 'propose' | 'solve';
    readonly type: TaskType;
    readonly policyVersion: number;
  }[];
  readonly stats: StepStats;
  /** Proposed programs of the last healthWindow steps (this one last). */
  readonly recentPrograms: readonly (readonly string[])[];
  /** Novelty keys of the valid proposals of the last novelty.window completed steps (src/azr/novelty.ts). */
  readonly noveltyHistory: readonly (readonly string[])[];
  /** The same, of this step's batches so far (joins noveltyHistory when the step's batch goes to the learner). */
  readonly stepNovelty: readonly string[];
  readonly stepStartedAt: number;
  /** The phase of the step running now and when it began (by `clock`); null outside a training step. */
  readonly phase: { readonly name: Phase; readonly since: number } | null;
  /** Milliseconds per phase of this step so far (the phases add up to the step's duration). */
  readonly phaseMs: Readonly<Partial<Record<Phase, number>>>;
  readonly stopRequested: boolean;
  readonly bufferSnapshot: BufferSnapshots | null;
  readonly reason: CoordinatorOutput['reason'];
}
function initialSizes(resume: CheckpointData | null): BufferSizes {
  if (!resume) return { deduction: 1, abduction: 1, induction: 1 };
  return {
    deduction: resume.buffers.deduction.entries.length,
    abduction: resume.buffers.abduction.entries.length,
    induction: resume.buffers.induction.entries.length,
  };
}

/** The type seeding works on next: the first enabled type whose buffer is short and still has rounds left. */
export function nextSeedType(c: CoordinatorContext): TaskType | null {
  for (const t of c.config.taskTypes)
    if (c.sizes[t] < c.config.seedSize && c.seedRounds[t] < c.config.seedMaxRounds) return t;
  return null;
}

export const currentType = (c: CoordinatorContext): TaskType => c.taskType ?? c.config.taskTypes[0]!;

/** Training: the enabled type after the current one, in config order; null after the last. */
export function nextType(c: CoordinatorContext): TaskType | null {
  return c.config.taskTypes[c.config.taskTypes.indexOf(currentType(c)) + 1] ?? null;
}

const dueEvery = (step: number, every: number): boolean => every > 0 && step % every === 0;
/** A probe is due every probeEvery steps (not after a stop). */
export const probeDue = (c: CoordinatorContext): boolean => !c.stopRequested && dueEvery(c.step, c.config.probeEvery);
/** A checkpoint is due every checkpointEvery steps, after the last, and on a stop. */
export const checkpointDue = (c: CoordinatorContext): boolean =>
  c.stopRequested || dueEvery(c.step, c.config.checkpointEvery) || c.step >= c.config.steps;
/** Closes the running phase at `now` (its time added to `phaseMs`) and, with `next`, opens that one. */
export function switchPhase(
  c: CoordinatorContext,
  now: number,
  next: Phase | null,
): Pick<CoordinatorContext, 'phase' | 'phaseMs'> {
  const phaseMs =
    c.phase === null
      ? c.phaseMs
      : { ...c.phaseMs, [c.phase.name]: (c.phaseMs[c.phase.name] ?? 0) + Math.max(0, now - c.phase.since) };
  return { phaseMs, phase: next === null ? null : { name: next, since: now } };
}

/** Training step t + 1 begins: the first enabled type, nothing gathered yet, its phases timed from now. */
export function stepStart(c: CoordinatorContext): Partial<CoordinatorContext> {
  const now = c.clock();
  return {
    step: c.step + 1,
    taskType: c.config.taskTypes[0]!,
    work: EMPTY_WORK,
    pushed: [],
    stats: EMPTY_STATS,
    stepNovelty: [],
    stepStartedAt: now,
    phase: { name: 'buffer', since: now },
    phaseMs: {},
  };
}

/** The step ends: its phases close now (so they add up to its duration), and its `step.finished` event. */
export function stepEnd(c: CoordinatorContext): { context: Partial<CoordinatorContext>; body: RunEventBody } {
  const now = c.clock();
  const closed = switchPhase(c, now, null);
  const body = eventBody('step.finished', { durationMs: Math.max(0, now - c.stepStartedAt), phases: closed.phaseMs });
  return { context: closed, body };
}

/** Seeding's next round, on the type nextSeedType picks (there is one). */
export function seedRoundStart(c: CoordinatorContext): Partial<CoordinatorContext> {
  const t = nextSeedType(c)!;
  return { taskType: t, seedRounds: { ...c.seedRounds, [t]: c.seedRounds[t] + 1 }, work: EMPTY_WORK };
}

/** The coordinator's context at its start: fresh, or restored from the checkpoint `input.resume`. */
export function initialContext(input: CoordinatorInput): CoordinatorContext {
  const config = resolveConfig(input.config);
  const resume = input.resume ?? null;
  const root = resume ? new Rng(resume.rng.root) : new Rng(config.seed);
  const actors = Object.fromEntries(ACTOR_NAMES.map((n) => [n, root.split(n).state()])) as Record<ActorName, RngState>;
  return {
    config,
    rng: { root: root.state(), actors },
    eventSeq: input.eventSeq ?? null,
    clock: input.clock ?? (() => 0),
    resume,
    step: resume?.step ?? 0,
    completed: resume?.step ?? 0,
    learning: null,
    policyVersion: resume?.policyVersion ?? 0,
    seeded: resume?.seeded ?? false,
    sizes: initialSizes(resume),
    seedRounds: resume?.seeding?.rounds ?? { deduction: 0, abduction: 0, induction: 0 },
    seedMark: null,
    taskType: null,
    solverTasks: {},
    work: EMPTY_WORK,
    pushed: [],
    stats: EMPTY_STATS,
    recentPrograms: resume?.recentPrograms ?? [],
    noveltyHistory: resume?.noveltyHistory ?? [],
    stepNovelty: [],
    stepStartedAt: 0,
    phase: null,
    phaseMs: {},
    stopRequested: false,
    bufferSnapshot: null,
    reason: 'completed',
  };
}
