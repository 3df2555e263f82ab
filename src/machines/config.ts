// CoordinatorConfig: every scenario-level option the self-play machines read, with the paper's defaults.

import {
  PAPER_DEFAULTS,
  TASK_TYPES,
  type Eviction,
  type InductionAccuracy,
  type ReferenceWeighting,
  type SolverMix,
  type TaskType,
  type TrrBaseline,
  type TrrStatistics,
  type UnlearnableReward,
} from '../azr/index.js';

/**
 * `sync`: the paper's phased, on-policy step (deterministic for a seed). `async` (not the paper): step t + 1 is
 * proposed and solved while step t is learned, with rollouts older than `maxStaleness` versions dropped.
 */
export type RunMode = 'sync' | 'async';

/** Sequences per task type, for one role. */
export type PerType = Readonly<Record<TaskType, number>>;

/** The options of one self-play run as the machines see them (the scenario file maps onto this). */
export interface CoordinatorConfig {
  /** Root of every random draw; each actor gets its own split. */
  readonly seed: number | string;
  /** Default `sync` (paper). `async` overlaps the next step's rollouts with this step's update (see coordinatorMachine). */
  readonly mode: RunMode;
  /** Training steps to run (the original's schedule: 960; its authors never went past ~500). */
  readonly steps: number;
  /** Enabled task types, in the order a step runs them. Default all three (paper). */
  readonly taskTypes: readonly TaskType[];
  /** Sequences per (role × type) group. Default 64 each (paper: "64 × 6"). */
  readonly batch: { readonly propose: PerType; readonly solve: PerType };
  /**
   * K reference triplets in a deduction/abduction proposer prompt. Default 6 (paper). 0: no references (the paper's
   * "w/o references" ablation). The induction proposer is not affected: it always sees one program from the buffers.
   */
  readonly references: number;
  /** N inputs of an induction proposal, half shown, half hidden. Default 10 (paper). */
  readonly inductionInputs: number;
  /** n Monte Carlo solver attempts per valid proposal (learnability). Default 8 (paper). */
  readonly learnabilitySamples: number;
  /** Answers sampled (and trained on) per solver task. Default 1 (paper); > 1 with advantage baseline `task` is GRPO-style. */
  readonly solveSamples: number;
  /** Sampling temperature of every training and learnability rollout. Default 1.0 (paper; never greedy for n). */
  readonly temperature: number;
  /** Reward of a valid proposal with mean success 0 or 1: `zero` (paper Eq. 4) or `minusHalf` (original code). */
  readonly unlearnable: UnlearnableReward;
  /** Induction answer accuracy: `binary` (paper) or `fraction`. */
  readonly inductionAccuracy: InductionAccuracy;
  /** TRR++ options: `perSequence` (paper Eq. 8) or `tokenWeighted` (original code); baseline `roleType` (paper). */
  readonly advantage: { readonly statistics: TrrStatistics; readonly baseline: TrrBaseline };
  readonly buffer: {
    /** Entries per buffer. Default 16384 (original `max_programs`). */
    readonly cap: number;
    /** Default `dropOldest` (azr's choice; the original keeps the oldest, see reference §5.5). */
    readonly eviction: Eviction;
    /** Skip tasks already in the buffer. Default false (paper: no dedup after seeding). */
    readonly dedup: boolean;
    /** Solver task draw at the start of a step. Default `maxNew` (paper). */
    readonly mix: SolverMix;
    /** "Recent" window of `maxNew`. Default 1 (paper). */
    readonly recentWindow: number;
    /** Proposer reference weighting. Default `uniform` (paper). */
    readonly referenceWeighting: ReferenceWeighting;
    /**
     * Anti-degeneracy (not in the paper): a valid task is not buffered when its program already holds this share
     * of its buffer (counted in `health.programCapped`). Default null: no cap (paper).
     */
    readonly maxProgramShare: number | null;
    /**
     * Which valid proposals of a training step join the buffer: `valid` (paper) or `learnable` (only those with
     * 0 < p̂ < 1: the `filter-only` control arm). Seeding admits every valid task either way.
     */
    readonly admit: 'valid' | 'learnable';
  };
  /**
   * Anti-degeneracy (not in the paper): a novelty bonus `coef / (1 + k)` on each valid proposal's reward, k = how
   * often its program was proposed (validly) in the last `window` steps (src/azr/novelty.ts). coef 0 = off (paper).
   */
  readonly novelty: { readonly coef: number; readonly window: number };
  /** Valid tasks each enabled buffer holds before training starts (paper: 256). Seeding de-duplicates. */
  readonly seedSize: number;
  /** Seeding gives up (with an `error` event) after this many propose rounds per type. */
  readonly seedMaxRounds: number;
  /** Train on the proposer's completions. Default true (paper); false trains the solver only (an ablation). */
  readonly trainProposer: boolean;
  /** Probe every this many steps (and once before step 1: the base model). 0 = only the base probe. Paper 10. */
  readonly probeEvery: number;
  /** Checkpoint every this many steps (and at the end, and on stop). 0 = only at the end/stop. Paper 10. */
  readonly checkpointEvery: number;
  /**
   * `async` only: a rollout made with weight version v is dropped (a `rollout.dropped` event, reason stale) when the
   * learner forms its batch at version > v + maxStaleness. Default 1: async rolls step t+1 out while step t is being
   * learned, one version behind (0 would drop about every other step).
   * Sync is on-policy: nothing is ever stale.
   */
  readonly maxStaleness: number;
  /** Scored rollouts the learner's inbound channel may hold beyond its credit. Default 0. */
  readonly queueCapacity: number;
  /** A failed effect call (a whole batch) is retried this many times before the batch is skipped. Default 2. */
  readonly effectRetries: number;
  /** `health.distinctPrograms` counts distinct proposed programs over this many recent steps. Default 1. */
  readonly healthWindow: number;
}

type DeepPartial<T> = {
  -readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};
/** What callers pass: any subset of the config. */
export type CoordinatorConfigInput = DeepPartial<CoordinatorConfig>;

const each = (n: number): PerType => ({ deduction: n, abduction: n, induction: n });

/** The paper's settings (reference §4.3, §5), as one object. */
export const DEFAULT_CONFIG: CoordinatorConfig = {
  seed: 0,
  mode: 'sync',
  steps: 960,
  taskTypes: TASK_TYPES,
  batch: { propose: each(PAPER_DEFAULTS.batchPerGroup), solve: each(PAPER_DEFAULTS.batchPerGroup) },
  references: PAPER_DEFAULTS.references,
  inductionInputs: PAPER_DEFAULTS.inductionInputs,
  learnabilitySamples: PAPER_DEFAULTS.learnabilitySamples,
  solveSamples: 1,
  temperature: 1,
  unlearnable: 'zero',
  inductionAccuracy: 'binary',
  advantage: { statistics: 'perSequence', baseline: 'roleType' },
  buffer: {
    cap: PAPER_DEFAULTS.bufferCap,
    eviction: 'dropOldest',
    dedup: false,
    mix: 'maxNew',
    recentWindow: PAPER_DEFAULTS.recentWindow,
    referenceWeighting: 'uniform',
    maxProgramShare: null,
    admit: 'valid',
  },
  novelty: { coef: 0, window: 1 },
  seedSize: 256,
  seedMaxRounds: 64,
  trainProposer: true,
  probeEvery: 10,
  checkpointEvery: 10,
  maxStaleness: 1,
  queueCapacity: 0,
  effectRetries: 2,
  healthWindow: 1,
};

/** A config that cannot run; the message names the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function int(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/** Fills in the defaults and checks every field; throws {@link ConfigError} on the first problem. */
export function resolveConfig(input: CoordinatorConfigInput = {}): CoordinatorConfig {
  const d = DEFAULT_CONFIG;
  const c: CoordinatorConfig = {
    ...d,
    ...input,
    taskTypes: input.taskTypes ?? d.taskTypes,
    batch: {
      propose: { ...d.batch.propose, ...input.batch?.propose },
      solve: { ...d.batch.solve, ...input.batch?.solve },
    },
    advantage: { ...d.advantage, ...input.advantage },
    buffer: { ...d.buffer, ...input.buffer },
    novelty: { ...d.novelty, ...input.novelty },
  } as CoordinatorConfig;
  if (c.mode !== 'sync' && c.mode !== 'async')
    throw new ConfigError(`mode must be 'sync' or 'async', got ${String(c.mode)}`);
  int('steps', c.steps, 0);
  if (c.taskTypes.length === 0) throw new ConfigError('taskTypes must enable at least one task type');
  for (const t of c.taskTypes) if (!TASK_TYPES.includes(t)) throw new ConfigError(`unknown task type ${String(t)}`);
  if (new Set(c.taskTypes).size !== c.taskTypes.length) throw new ConfigError('taskTypes lists a type twice');
  for (const role of ['propose', 'solve'] as const)
    for (const t of TASK_TYPES) int(`batch.${role}.${t}`, c.batch[role][t], 1);
  int('references', c.references, 0);
  int('inductionInputs', c.inductionInputs, 2);
  int('learnabilitySamples', c.learnabilitySamples, 1);
  int('solveSamples', c.solveSamples, 1);
  if (!(c.temperature > 0))
    throw new ConfigError(`temperature must be > 0 (learnability needs sampling), got ${c.temperature}`);
  int('buffer.cap', c.buffer.cap, 1);
  int('buffer.recentWindow', c.buffer.recentWindow, 0);
  const share = c.buffer.maxProgramShare;
  if (share !== null && !(typeof share === 'number' && share > 0 && share <= 1))
    throw new ConfigError(`buffer.maxProgramShare must be in (0, 1] or null, got ${String(share)}`);
  if (!(typeof c.novelty.coef === 'number' && c.novelty.coef >= 0 && Number.isFinite(c.novelty.coef)))
    throw new ConfigError(`novelty.coef must be a finite number ≥ 0, got ${String(c.novelty.coef)}`);
  int('novelty.window', c.novelty.window, 1);
  int('seedSize', c.seedSize, 1);
  int('seedMaxRounds', c.seedMaxRounds, 1);
  int('probeEvery', c.probeEvery, 0);
  int('checkpointEvery', c.checkpointEvery, 0);
  int('maxStaleness', c.maxStaleness, 0);
  int('queueCapacity', c.queueCapacity, 0);
  int('effectRetries', c.effectRetries, 0);
  int('healthWindow', c.healthWindow, 1);
  return c;
}

/** Trained rollouts per step: what the learner grants credit for (both roles, or the solver's only). */
export function rolloutsPerStep(c: CoordinatorConfig): number {
  let n = 0;
  for (const t of c.taskTypes) n += c.batch.solve[t] * c.solveSamples + (c.trainProposer ? c.batch.propose[t] : 0);
  return n;
}
