// The self-play options: one zod schema, the only declaration of every option the coordinator reads. The machines
// parse it with the paper's defaults (`resolveConfig`); the scenario file's `selfPlay:` section is the same schema
// with a scenario's (smaller) defaults (src/config/schema.ts). `CoordinatorConfig` is its output type.

import { z } from 'zod';
import { PAPER_DEFAULTS, TASK_TYPES, type TaskType } from '../azr/index.js';

/** Sequences per task type, for one role. */
type PerType = Readonly<Record<TaskType, number>>;

const TASK_TYPE = z.enum(TASK_TYPES);
const positiveInt = z.number().int().min(1);

/** Sequences per task type: one number for all three, or one per type. */
const perType = (what: string, fallback: number) =>
  z
    .union([
      positiveInt,
      z.strictObject({
        deduction: positiveInt.default(fallback).describe(`${what}, deduction`),
        abduction: positiveInt.default(fallback).describe(`${what}, abduction`),
        induction: positiveInt.default(fallback).describe(`${what}, induction`),
      }),
    ])
    .default(fallback)
    .describe(`${what}: one number for every task type, or { deduction, abduction, induction }`);

/** The defaults that differ between the paper's run (the machines) and a scenario file's (a small run). */
export interface SelfPlayDefaults {
  readonly steps: number;
  /** Sequences per (role × type) group. */
  readonly batch: number;
  readonly references: number;
  readonly inductionInputs: number;
  readonly learnabilitySamples: number;
  readonly seedSize: number;
  readonly seedMaxRounds: number;
  readonly probeEvery: number;
  readonly checkpointEvery: number;
}

/** The paper's settings (reference §4.3, §5). */
const PAPER_SELF_PLAY_DEFAULTS: SelfPlayDefaults = {
  steps: 960,
  batch: PAPER_DEFAULTS.batchPerGroup,
  references: PAPER_DEFAULTS.references,
  inductionInputs: PAPER_DEFAULTS.inductionInputs,
  learnabilitySamples: PAPER_DEFAULTS.learnabilitySamples,
  seedSize: 256,
  seedMaxRounds: 64,
  probeEvery: 10,
  checkpointEvery: 10,
};

/**
 * The self-play options with the given defaults. `mode`: 'sync' is the paper's phased, on-policy step (deterministic
 * for a seed); 'async' (not the paper) proposes and solves step t + 1 while step t is learned, dropping rollouts older
 * than `maxStaleness` versions (see coordinatorMachine). Anti-degeneracy options (`buffer.maxProgramShare`,
 * `buffer.dedup`, `novelty`) are off by default, as in the paper.
 */
export function selfPlaySchema(d: SelfPlayDefaults) {
  return z.strictObject({
    mode: z
      .enum(['sync', 'async'])
      .default('sync')
      .describe(
        "'sync': the paper's phased on-policy step (deterministic); 'async': the next step is proposed and solved while the learner learns, stale rollouts dropped (not the paper)",
      ),
    steps: z.number().int().min(0).default(d.steps).describe('training steps (the paper’s schedule: 960)'),
    taskTypes: z
      .array(TASK_TYPE)
      .min(1)
      .refine((ts) => new Set(ts).size === ts.length, 'a task type is listed twice')
      .default([...TASK_TYPES])
      .describe('enabled task types, in the order a step runs them (paper: all three)'),
    batch: z
      .strictObject({
        propose: perType('proposer completions per step', d.batch),
        solve: perType('solver completions per step', d.batch),
      })
      .prefault({})
      .describe('sequences per (role × type) group per step (paper: 64 each)'),
    references: z
      .number()
      .int()
      .min(0)
      .default(d.references)
      .describe(
        "K reference triplets in a deduction/abduction proposer prompt (paper: 6; each costs ~25 tokens of context); 0 = no references, the paper's 'w/o references' ablation. The induction proposer always sees one program from the buffers (its task, not a reference)",
      ),
    inductionInputs: z
      .number()
      .int()
      .min(2)
      .max(16)
      .default(d.inductionInputs)
      .describe('N inputs of an induction proposal, half shown, half hidden (paper: 10)'),
    learnabilitySamples: positiveInt
      .default(d.learnabilitySamples)
      .describe('n Monte Carlo solver attempts per valid proposal (paper: 8)'),
    solveSamples: positiveInt
      .max(16)
      .default(1)
      .describe(
        'answers sampled and trained on per solver task (paper: 1; > 1 with advantage.baseline task is GRPO-style)',
      ),
    temperature: z
      .number()
      .positive()
      .default(1)
      .describe('sampling temperature of every training and learnability rollout (paper: 1.0)'),
    unlearnable: z
      .enum(['zero', 'minusHalf'])
      .default('zero')
      .describe(
        "reward of a valid proposal with mean success 0 or 1: 'zero' (paper Eq. 4) or 'minusHalf' (original code)",
      ),
    inductionAccuracy: z
      .enum(['binary', 'fraction'])
      .default('binary')
      .describe("induction answer accuracy: 'binary' (paper) or 'fraction' of hidden pairs"),
    advantage: z
      .strictObject({
        statistics: z
          .enum(['perSequence', 'tokenWeighted'])
          .default('perSequence')
          .describe("TRR++ statistics: 'perSequence' (paper Eq. 8) or 'tokenWeighted' (original code)"),
        baseline: z
          .enum(['roleType', 'global', 'task', 'none'])
          .default('roleType')
          .describe(
            "'roleType': six groups normalised separately (paper TRR++); 'task': the answers to one solver task share a baseline (GRPO-style, with solveSamples > 1)",
          ),
      })
      .prefault({})
      .describe('TRR++ advantage options'),
    buffer: z
      .strictObject({
        cap: positiveInt.default(16384).describe('entries per buffer (original max_programs: 16384)'),
        eviction: z
          .enum(['dropOldest', 'keepOldest'])
          .default('dropOldest')
          .describe("at the cap: 'dropOldest' (azr) or 'keepOldest' (original)"),
        dedup: z.boolean().default(false).describe('skip tasks already in the buffer (anti-degeneracy; paper: false)'),
        mix: z.enum(['maxNew', 'halfNew', 'uniform']).default('maxNew').describe("solver task draw: 'maxNew' (paper)"),
        recentWindow: z.number().int().min(0).default(1).describe('"recent" window of maxNew, in steps (paper: 1)'),
        referenceWeighting: z
          .enum(['uniform', 'step'])
          .default('uniform')
          .describe("proposer reference weighting: 'uniform' (paper)"),
        maxProgramShare: z
          .number()
          .gt(0)
          .max(1)
          .nullable()
          .default(null)
          .describe(
            'anti-degeneracy: a valid task is not buffered when its program already holds this share of its buffer (counted in health.programCapped); null = no cap (paper)',
          ),
        admit: z
          .enum(['valid', 'learnable'])
          .default('valid')
          .describe(
            "which valid proposals of a training step are buffered: 'valid' (paper) or 'learnable' (only 0 < p̂ < 1; the filter-only control arm)",
          ),
      })
      .prefault({})
      .describe('the task buffers'),
    novelty: z
      .strictObject({
        coef: z
          .number()
          .min(0)
          .default(0)
          .describe(
            'bonus coef / (1 + k) on each valid proposal’s reward, k = times its program was proposed in the window; 0 = off (paper)',
          ),
        window: positiveInt.default(1).describe('novelty window, in training steps'),
      })
      .prefault({})
      .describe('anti-degeneracy: novelty bonus for the proposer (src/azr/novelty.ts; not in the paper)'),
    seedSize: positiveInt
      .default(d.seedSize)
      .describe('valid tasks each buffer holds before training starts (paper: 256)'),
    seedMaxRounds: positiveInt
      .default(d.seedMaxRounds)
      .describe('seeding gives up (with an error event) after this many propose rounds per type'),
    trainProposer: z
      .boolean()
      .default(true)
      .describe('train on the proposer’s completions (paper); false trains the solver only'),
    probeEvery: z
      .number()
      .int()
      .min(0)
      .default(d.probeEvery)
      .describe('probe every this many steps (and once before step 1: the base model); 0 = base only'),
    checkpointEvery: z
      .number()
      .int()
      .min(0)
      .default(d.checkpointEvery)
      .describe('checkpoint every this many steps (and at the end and on stop); 0 = end/stop only'),
    maxStaleness: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe(
        'async only: a rollout more than this many weight versions behind the learner when its batch is formed is dropped (rollout.dropped, stale). Default 1: step t+1 is rolled out while step t is learned, so its rollouts are one version behind; 0 drops them',
      ),
    queueCapacity: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('scored rollouts the learner’s channel may hold beyond its credit'),
    effectRetries: z
      .number()
      .int()
      .min(0)
      .default(2)
      .describe('a failed effect call (a whole batch) is retried this many times'),
    healthWindow: positiveInt
      .default(1)
      .describe('health.distinctPrograms counts distinct programs over this many recent steps'),
  });
}

const perTypeOf = (x: number | PerType): PerType =>
  typeof x === 'number' ? { deduction: x, abduction: x, induction: x } : x;

/**
 * The coordinator's options: the run's root seed and the self-play options (paper defaults), with the batch sizes
 * spelled out per type.
 */
const CoordinatorConfigSchema = z
  .strictObject({
    seed: z
      .union([z.number(), z.string()])
      .default(0)
      .describe('root of every random draw; each actor gets its own split'),
    ...selfPlaySchema(PAPER_SELF_PLAY_DEFAULTS).shape,
  })
  .transform((c) => ({ ...c, batch: { propose: perTypeOf(c.batch.propose), solve: perTypeOf(c.batch.solve) } }));

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The options of one self-play run as the machines see them (the scenario file's `selfPlay:` plus its seed). */
export type CoordinatorConfig = DeepReadonly<z.output<typeof CoordinatorConfigSchema>>;
/** What callers pass: any subset of the config (a scenario's parsed `selfPlay:` section, with its seed, is one). */
export type CoordinatorConfigInput = z.input<typeof CoordinatorConfigSchema>;
/** `sync` (the paper) or `async` (see {@link selfPlaySchema}). */

/** A config that cannot run; the message names the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Whether the field at `path` is an integer field (for messages). */
function isIntegerField(schema: z.ZodType, path: readonly PropertyKey[]): boolean {
  let s: unknown = schema;
  let rest = [...path];
  for (;;) {
    const def = (
      s as {
        def: { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown>; options?: unknown[] };
      }
    ).def;
    if (def.innerType !== undefined) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (def.type === 'union')
      s = def.options!.find((o) => (o as z.ZodType).def.type === (rest.length > 0 ? 'object' : 'number'));
    else if (def.type === 'object' && rest.length > 0) s = def.shape![String(rest.shift())];
    else return (s as Partial<z.ZodNumber>).isInt === true;
    if (s === undefined) return false;
  }
}

/** One line for a zod issue, naming the field: `references must be an integer ≥ 0, got -1`. */
function issueLine(issue: z.core.$ZodIssue, input: unknown): string {
  const name = issue.path.map(String).join('.') || 'config';
  let value: unknown = input;
  for (const k of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
  const got = `, got ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`;
  switch (issue.code) {
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      if (issue.origin === 'array') return `${name} must hold ${op} ${String(bound)} entries${got}`;
      const integer = isIntegerField(CoordinatorConfigSchema, issue.path) ? 'an integer ' : '';
      return `${name} must be ${integer}${op} ${String(bound)}${got}`;
    }
    case 'invalid_value':
      return `${name} must be ${issue.values.map((v) => `'${String(v)}'`).join(' or ')}${got}`;
    case 'unrecognized_keys':
      return issue.keys.map((k) => `${issue.path.length > 0 ? `${name}.` : ''}${k}: unknown field`).join('; ');
    default:
      return `${name}: ${issue.message}${got}`;
  }
}

/** Fills in the (paper's) defaults and checks every field; throws {@link ConfigError} on the first problem. */
export function resolveConfig(input: CoordinatorConfigInput = {}): CoordinatorConfig {
  const r = CoordinatorConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(issueLine(r.error.issues[0]!, input));
  return r.data;
}

/** The paper's settings, as one object. */
export const DEFAULT_CONFIG: CoordinatorConfig = resolveConfig();

/** Trained rollouts per step: what the learner grants credit for (both roles, or the solver's only). */
export function rolloutsPerStep(c: CoordinatorConfig): number {
  let n = 0;
  for (const t of c.taskTypes) n += c.batch.solve[t] * c.solveSamples + (c.trainProposer ? c.batch.propose[t] : 0);
  return n;
}
