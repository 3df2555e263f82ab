// The effects the actors invoke (policy, executor, learner, probe, checkpoint): contracts the real services implement.
//
// The machines never import src/gpu or src/sandbox; src/actors adapts those services to these interfaces and
// hands them to `withEffects` (see withEffects.ts). Tests hand in scripted fakes (src/testing.ts).

import type {
  BufferSnapshot,
  GroupStats,
  InductionTask,
  IOPair,
  ProposerView,
  Rng,
  RngState,
  Role,
  SolverView,
  TaskType,
  Triplet,
  Value,
} from '../azr/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Policy: the one model, asked for completions of proposer or solver views.

/** What the learner needs to replay a completion: src/gpu's `PolicySample` without its advantage. */
export interface TrainingTrace {
  readonly prompt: readonly number[];
  readonly tokens: readonly number[];
  readonly logProbs?: readonly number[];
  readonly masks?: Uint8Array | null;
}

/** One completion to sample: a proposer view (answer: program + args, or N inputs + message) or a solver view. */
export type PolicyRequest =
  | { readonly id: string; readonly role: 'propose'; readonly view: ProposerView }
  | { readonly id: string; readonly role: 'solve'; readonly view: SolverView };

/**
 * Why the completions are sampled: `train` (trained on), `learnability` (the n Monte Carlo attempts: never trained
 * on, but still at the training temperature), `seed` (seeding, not trained on).
 */
export type PolicyPurpose = 'train' | 'learnability' | 'seed';

export interface GenerateInput {
  readonly requests: readonly PolicyRequest[];
  /** Always the training temperature (config.temperature), also for learnability (reference §6 pitfall). */
  readonly temperature: number;
  readonly purpose: PolicyPurpose;
  /** The source of the sampling uniforms for this call: a split of the calling actor's stream. */
  readonly rng: Rng;
  readonly step: number;
}

/**
 * A completion: the lexemes of each answer segment (the task language's, see src/azr/lang/lexemes.ts; a trailing
 * `<end>` is allowed), its length in tokens and the weight version that produced it. `ok: false` is a failure on
 * this one request (the step goes on without it).
 */
export type PolicyCompletion =
  | {
      readonly id: string;
      readonly ok: true;
      readonly segments: readonly (readonly string[])[];
      readonly tokens: number;
      readonly policyVersion: number;
      /** Hit the length cap: a format error, whatever the segments hold. */
      readonly truncated?: boolean;
      readonly trace?: TrainingTrace;
    }
  | { readonly id: string; readonly ok: false; readonly error: string };

/** Implemented over src/gpu (`proposerPrompt`/`solverPrompt`, `answerConstraint`, `OrtRollout.sample`). */
export interface PolicyEffect {
  /** One completion per request, in request order. Rejects only when the whole batch failed. */
  generate(input: GenerateInput): Promise<PolicyCompletion[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Executor: the sandbox, batch per call.

/** A failure as the sandbox reports it (src/sandbox `SandboxError`); `crashed`/`overloaded` are not the program's fault. */
export interface ExecError {
  readonly kind: string;
  readonly message: string;
}

/** Error kinds that say the executor failed, not the program: the item is dropped with an `error` event. */
export const INFRASTRUCTURE_ERRORS: readonly string[] = ['crashed', 'overloaded'];

/** Validate a proposal: parse, static check, run on every input within limits, twice (deterministic). */
export interface ValidateRequest {
  readonly id: string;
  readonly program: string;
  /** Argument-list sources: one for deduction/abduction, N for induction (all must run). */
  readonly inputs: readonly string[];
}

/**
 * A valid proposal's outputs, one per input, and whether its output ignores its input (src/azr/inputDependence.ts:
 * decided by the executor from its own probe runs; null when that could not be told). The same decision rejects the
 * proposal (kind `input_ignoring`) when `executor.rejectInputIgnoring` is on.
 */
export type ValidateResult =
  | {
      readonly id: string;
      readonly ok: true;
      readonly outputs: readonly Value[];
      readonly inputIgnoring: boolean | null;
    }
  | { readonly id: string; readonly ok: false; readonly error: ExecError };

/** Grade one well-formed answer (format was checked by the solver actor). */
export type CheckRequest =
  | { readonly id: string; readonly type: 'deduction'; readonly gold: Value; readonly answer: string }
  | {
      readonly id: string;
      readonly type: 'abduction';
      readonly program: string;
      readonly gold: Value;
      readonly answer: string;
    }
  | { readonly id: string; readonly type: 'induction'; readonly program: string; readonly hidden: readonly IOPair[] };

/**
 * `passed` of `total` checks held (deduction/abduction: 1 check; induction: one per hidden pair). An answer that
 * throws is graded (it fails), with the error as detail. `ok: false` means the check itself could not be done.
 */
export type CheckResult =
  | {
      readonly id: string;
      readonly ok: true;
      readonly passed: number;
      readonly total: number;
      readonly error?: ExecError;
    }
  | { readonly id: string; readonly ok: false; readonly error: ExecError };

/** Implemented over src/sandbox (`validateProposals`, `checkDeductions`, `checkAbductions`, `checkInductions`). */
export interface ExecutorEffect {
  validate(requests: readonly ValidateRequest[]): Promise<ValidateResult[]>;
  check(requests: readonly CheckRequest[]): Promise<CheckResult[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Learner: one optimizer step per training step, over all six batches.

/** A scored, trained completion as it travels to the learner. */
export interface ScoredRollout {
  readonly id: string;
  readonly role: Role;
  readonly type: TaskType;
  readonly reward: number;
  readonly tokens: number;
  readonly policyVersion: number;
  readonly step: number;
  /** The solver task it answers (its item id): shared by the samples of one task (`selfPlay.solveSamples` > 1). */
  readonly group?: string;
  readonly trace?: TrainingTrace;
  /** Solver rollouts: the reasoning trace before the answer (lexemes, steps). */
  readonly reasoning?: Reasoning;
}

/** A solver completion's reasoning trace: its length in lexemes and its number of steps (0, 0: no reasoning). */
export interface Reasoning {
  readonly lexemes: number;
  readonly steps: number;
}

/** A scored rollout with its TRR++ advantage. */
export interface TrainSample extends ScoredRollout {
  readonly advantage: number;
}

/** One (role × type) batch of the step. */
export interface LearnBatch {
  readonly role: Role;
  readonly type: TaskType;
  readonly samples: readonly TrainSample[];
}

export interface LearnInput {
  readonly step: number;
  /** One per (role × enabled type) group, in ROLES × taskTypes order — six with the paper's settings. */
  readonly batches: readonly LearnBatch[];
  readonly groups: readonly GroupStats[];
}

/** Metrics of the optimizer step, as in the `learner.step` event. */
export interface LearnResult {
  readonly loss: number;
  readonly gradNorm: number;
  readonly entropy: number;
  /** Weight version after the step (the learner's step count). */
  readonly policyVersion: number;
  readonly tokensPerSecond: number;
  readonly kl?: number;
}

/** Implemented over src/gpu's `Learner.policyStep` and the weight board. */
export interface LearnerEffect {
  learn(input: LearnInput): Promise<LearnResult>;
  /** Make `policyVersion` the weights rollouts use (e.g. `WeightBoard.publish`). Optional. */
  publish?(policyVersion: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Credit: the stream from producers to the learner (src/streams `CreditChannel`), seen by the machines.

/** The right to send one scored rollout to the learner (src/streams `Reservation`): push it, or release it unused. */
export interface Slot<T = ScoredRollout> {
  push(item: T): void;
  release(): void;
}

/**
 * The learner's inbound stream: producers reserve room before producing (never running ahead of the learner's
 * credit); the learner subscribes and tops its credit up. `CreditChannel<ScoredRollout>` implements it.
 */
export interface RolloutChannel {
  reserve(signal?: AbortSignal): Promise<Slot>;
  subscribe(onRollout: (rollout: ScoredRollout) => void): { unsubscribe(): void };
  /** Credit granted and not yet used. */
  credit(): number;
  grant(n: number): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Probe and checkpoint.

export interface ProbeAccuracy {
  readonly deduction: number | null;
  readonly abduction: number | null;
  readonly induction: number | null;
  readonly overall: number;
}

export interface ProbeResult {
  readonly tasks: number;
  /** Greedy pass@1. */
  readonly accuracy: ProbeAccuracy;
  readonly byTier: Readonly<Record<string, ProbeAccuracy>>;
  /** k answers per task sampled at the training temperature: unbiased pass@k and the mean sampled pass@1. */
  readonly sampled?: {
    readonly k: number;
    readonly temperature: number;
    readonly passAtK: ProbeAccuracy;
    readonly passAtKByTier: Readonly<Record<string, ProbeAccuracy>>;
    readonly pass1: ProbeAccuracy;
    readonly traceShare?: ProbeAccuracy;
  };
  /** Share of greedy answers that reasoned first. */
  readonly traceShare?: ProbeAccuracy;
  /** Per task, in the probe's order: its greedy answer and verdict. */
  readonly results?: readonly ProbeTaskResult[];
}

/** One probe task's greedy answer, as `probe.evaluated.results` carries it. */
export interface ProbeTaskResult {
  readonly id: string;
  /** The answer graded, as source text; null when no well-formed answer came. */
  readonly answer: string | null;
  readonly correct: boolean;
  /** Lexemes of the reasoning trace written before the answer (0 = it answered directly). */
  readonly trace: number;
}

/** Evaluation of the current policy on the held-out probe set: greedy, and optionally k samples per task. */
export interface ProbeEffect {
  evaluate(input: { readonly step: number; readonly policyVersion: number }): Promise<ProbeResult>;
}

/** What a checkpoint holds besides the weights and optimizer (which the checkpoint service takes from the learner). */
export interface CheckpointData {
  readonly version: 1;
  /** Last completed training step; a resume starts at step + 1. */
  readonly step: number;
  readonly policyVersion: number;
  /** Seeding finished (false only when stopped during seeding). */
  readonly seeded: boolean;
  /**
   * Stopped during seeding: the propose rounds finished per type, and the seq of the first event after them (the
   * round in flight and the stop), which a resume cuts from the log before running that round again. Null seq: the
   * event sink did not number events.
   */
  readonly seeding?: { readonly rounds: Readonly<Record<TaskType, number>>; readonly eventSeq: number | null };
  readonly buffers: {
    readonly deduction: BufferSnapshot<Triplet>;
    readonly abduction: BufferSnapshot<Triplet>;
    readonly induction: BufferSnapshot<InductionTask>;
  };
  /** The root stream and each actor's split (draws are derived per step from these, so nothing else is needed). */
  readonly rng: { readonly root: RngState; readonly actors: Readonly<Record<string, RngState>> };
  /** `getPersistedSnapshot()` of the actors whose state means something between steps. */
  readonly actors: Readonly<Record<string, unknown>>;
  /** Proposed programs of the recent steps, for `health.distinctPrograms` across a resume. */
  readonly recentPrograms: readonly (readonly string[])[];
  /** Novelty keys of the recent steps' valid proposals (present when `novelty.coef` > 0). */
  readonly noveltyHistory?: readonly (readonly string[])[];
}

export interface CheckpointEffect {
  save(data: CheckpointData): Promise<{ readonly path: string; readonly bytes?: number }>;
}

// ---------------------------------------------------------------------------------------------------------------
// All of them.

/** Every effect of a run. `probe` and `checkpoint` are optional (absent: the phase is skipped silently). */
export interface Effects {
  readonly policy: PolicyEffect;
  readonly executor: ExecutorEffect;
  readonly learner: LearnerEffect;
  readonly probe?: ProbeEffect;
  readonly checkpoint?: CheckpointEffect;
}

/** The error an actor's default (unprovided) effect throws. */
export function notProvided(actor: string, effect: string): Error {
  return new Error(
    `${actor}: effect '${effect}' is not provided; use ${actor}.provide({ actors: { ${effect}: … } }) or withEffects()`,
  );
}
