// The run events: one zod discriminated union on `type`, the contract between actors, events.jsonl, metrics and the feed.
import { z } from 'zod';
import { ROLES, TASK_TYPES, type Role, type TaskType } from '../azr/tasks.js';

// The roles and task types are the algorithm's (src/azr); re-exported for the event layer's users.
export { ROLES, TASK_TYPES, type Role, type TaskType };

/** Schema version written in every event's `v`; bump it when a field changes meaning or is removed. */
export const EVENT_SCHEMA_VERSION = 1;

const role = z.enum(ROLES).describe('which role of the model produced the completion');
const task = z.enum(TASK_TYPES).describe('task type');
const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const version = count.describe('learner weight version that produced or consumed the rollout (0 = base model)');
/** A share in [0, 1]; null when the step had nothing to measure (e.g. no valid proposal), never NaN. */
const share = z.number().min(0).max(1).nullable();
const bit = z.union([z.literal(0), z.literal(1)]);

/** Fields every event carries; the bus stamps them, producers never write them. */
const envelope = {
  v: z.literal(EVENT_SCHEMA_VERSION).describe('event schema version'),
  runId: z.string().min(1).describe('the run this event belongs to'),
  seq: count.describe('position in the run: 0, 1, 2, … without gaps, also across resumes'),
  t: ms.describe('milliseconds since the run (or its resumption) started, from the injected clock'),
  step: count.describe('training step during which the event was emitted (0 = before the first self-play step)'),
};

/** The envelope field names, in the order they are serialized. */
export const ENVELOPE_KEYS = ['v', 'runId', 'seq', 't', 'step'] as const;
type EnvelopeKey = (typeof ENVELOPE_KEYS)[number];

/** Builds one member of the union: envelope first (so serialized lines start `{"v":1,"runId":…,"seq":…`), then `type`. */
function defineEvent<const T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.strictObject({ ...envelope, type: z.literal(type), ...shape });
}

const perTaskAccuracy = z.strictObject({
  deduction: share.describe('accuracy on deduction probe tasks; null when there are none'),
  abduction: share.describe('accuracy on abduction probe tasks; null when there are none'),
  induction: share.describe('accuracy on induction probe tasks; null when there are none'),
  overall: z.number().min(0).max(1).describe('accuracy over all probe tasks of the group'),
});

const RunStartedSchema = defineEvent('run.started', {
  scenario: z.record(z.string(), z.json()).describe('the resolved scenario, as written to scenario.yaml'),
  backend: z.string().min(1).describe('tensor backend chosen at start, e.g. "tensorflow" or "wasm"'),
  versions: z.record(z.string(), z.string()).describe('versions of azr, node and the libraries that shape results'),
  resumedFromStep: count.nullable().describe('last checkpointed step this process resumed from; null for a fresh run'),
});

const BaseProgressSchema = defineEvent('base.progress', {
  state: z
    .enum(['building', 'built'])
    .describe('building: the base model is being pretrained (before run.started); built: it is done and cached'),
  trainStep: count.describe('pretraining steps done'),
  totalSteps: count.nullable().describe('the pretraining step budget; null for a minutes budget'),
  loss: z
    .number()
    .nullable()
    .describe('mean pretraining loss over the steps since the previous base.progress; null when none'),
  probe: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('probe accuracy (overall) measured at this step; null when the probe did not run here'),
  trainSeconds: z
    .number()
    .nonnegative()
    .describe('training seconds of the build so far (probe evaluations not counted)'),
});

const RunFinishedSchema = defineEvent('run.finished', {
  reason: z
    .enum(['completed', 'interrupted', 'failed'])
    .describe('completed: all steps done; interrupted: signal; failed: crash'),
  steps: count.describe('training steps completed'),
  message: z.string().optional().describe('human-readable detail, e.g. the crash message'),
});

const RolloutScoredSchema = defineEvent('rollout.scored', {
  role,
  task,
  id: z.string().min(1).describe('rollout id, unique in the run'),
  reward: z.number().describe('reward of the completion (paper Eq. 4–6)'),
  advantage: z.number().describe('TRR++ advantage: reward normalised within its (role × task) batch'),
  policyVersion: version,
  tokens: count.describe('completion length in tokens'),
  reasoning: z
    .strictObject({
      lexemes: count.describe('length of the reasoning trace before the answer (0: it answered directly)'),
      steps: count.describe('trace steps (`operation ⇒ value ;`)'),
    })
    .optional()
    .describe('solver rollouts: the reasoning trace it wrote (checked for form, never graded)'),
});

/** Per task type: how much this step's solver rollouts reasoned; null for a type with no solver rollouts. */
const reasoningOfType = z
  .strictObject({
    share: z.number().min(0).max(1).describe('share of solver rollouts that wrote a reasoning trace'),
    meanLexemes: z.number().nonnegative().describe('mean trace length in lexemes, over all solver rollouts'),
  })
  .nullable();

const ProposalValidatedSchema = defineEvent('proposal.validated', {
  rolloutId: z.string().min(1).describe('the id of the proposer completion this proposal came from'),
  task,
  valid: z.boolean().describe('parses, allowed, runs within limits, deterministic'),
  error: z
    .string()
    .min(1)
    .optional()
    .describe('error kind when invalid (sandbox kinds, or a format kind); absent when valid'),
  program: z.string().describe('program text (as proposed, possibly malformed when invalid)'),
  input: z.union([z.string(), z.array(z.string())]).describe('argument-list source; induction: one per pair'),
  output: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .describe('canonical output(s); null when invalid'),
  message: z.string().optional().describe('induction: the message for the solver'),
  mcSuccesses: z.array(bit).describe('the n Monte Carlo solver outcomes (0/1); empty when not estimated'),
  learnability: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('r_learn = 1 − mean when 0 < mean < 1 else 0; null when not estimated'),
  novelty: z
    .number()
    .nonnegative()
    .optional()
    .describe(
      'novelty bonus added to the proposer reward (selfPlay.novelty, not in the paper); absent when off or not trained',
    ),
}).superRefine((e, ctx) => {
  // The pairing is what outside checkers rely on: an invalid proposal has a kind and no estimate.
  if (e.valid && e.error !== undefined)
    ctx.addIssue({ code: 'custom', path: ['error'], message: 'a valid proposal has no error kind' });
  if (e.valid && e.output === null)
    ctx.addIssue({ code: 'custom', path: ['output'], message: 'a valid proposal has an output' });
  if (!e.valid && e.error === undefined)
    ctx.addIssue({ code: 'custom', path: ['error'], message: 'an invalid proposal needs an error kind' });
  if (!e.valid && (e.mcSuccesses.length > 0 || e.learnability !== null))
    ctx.addIssue({
      code: 'custom',
      path: ['learnability'],
      message: 'an invalid proposal has no learnability estimate',
    });
});

const LearnerStepSchema = defineEvent('learner.step', {
  loss: z.number(),
  gradNorm: z.number().nonnegative().describe('global gradient norm before clipping'),
  entropy: z.number().nonnegative().describe('mean per-token policy entropy (nats)'),
  policyVersion: version.describe('weight version after this optimizer step'),
  tokensPerSecond: z.number().nonnegative(),
  kl: z.number().optional().describe('KL to the base model, when the anchor is on'),
});

const HealthSchema = defineEvent('health', {
  validShare: share.describe('share of this step’s proposals that were valid'),
  learnableShare: share.describe('share of valid proposals with 0 < mean solver success < 1'),
  zeroAdvantageShare: share.describe('share of advantage groups whose rewards did not vary'),
  distinctPrograms: count.describe('distinct programs among proposals in the recent window'),
  inputIgnoringShare: share.describe('share of valid programs whose output does not depend on their input'),
  meanLearnability: share.describe('mean learnability over valid proposals'),
  reasoning: z
    .strictObject({ deduction: reasoningOfType, abduction: reasoningOfType, induction: reasoningOfType })
    .optional()
    .describe("the step's solver rollouts per task type: trace share and mean trace length (responses growing longer)"),
  programCapped: count
    .optional()
    .describe(
      'valid tasks not buffered because their program already held selfPlay.buffer.maxProgramShare of the buffer; absent when the cap is off',
    ),
});

const BufferSizesSchema = defineEvent('buffer.sizes', {
  sizes: z.strictObject({ deduction: count, abduction: count, induction: count }).describe('triplets per task buffer'),
});

const QueueDepthSchema = defineEvent('queue.depth', {
  queue: z.string().min(1).describe('queue name, e.g. "scored→learner"'),
  depth: count.describe('items held in the queue now'),
  capacity: count.describe('fixed bound on depth'),
  credit: count.nullable().describe('credit granted by the consumer and not yet used; null for a queue without credit'),
  stallMs: ms.describe('total time producers spent waiting for room, since the queue was created'),
  waiting: count.optional().describe('producers waiting for room now'),
});

const ProbeEvaluatedSchema = defineEvent('probe.evaluated', {
  policyVersion: version,
  tasks: count.describe('probe tasks evaluated'),
  accuracy: perTaskAccuracy.describe('greedy pass@1 per task type and overall'),
  byTier: z.record(z.string(), perTaskAccuracy).describe('the same, per difficulty tier'),
  traceShare: perTaskAccuracy
    .optional()
    .describe('share of greedy answers that wrote a reasoning trace before the answer, per task type and overall'),
  sampled: z
    .strictObject({
      k: count.min(1).describe('answers sampled per task'),
      temperature: z.number().positive().describe('the sampling temperature (the training one)'),
      passAtK: perTaskAccuracy.describe(
        'unbiased pass@k from the k samples (Chen et al. 2021), per task type and overall',
      ),
      passAtKByTier: z.record(z.string(), perTaskAccuracy).describe('the same, per difficulty tier'),
      pass1: perTaskAccuracy.describe('mean sampled pass@1 (correct samples / k)'),
      traceShare: perTaskAccuracy.optional().describe('share of sampled answers that reasoned first'),
    })
    .optional()
    .describe('present when the probe samples (probe.samples > 0)'),
  results: z
    .array(
      z.strictObject({
        id: z.string().min(1).describe('the probe task'),
        answer: z.string().nullable().describe('the greedy answer graded, as source text; null = none well-formed'),
        correct: z.boolean(),
        trace: count.describe('lexemes of the reasoning trace written before the answer (0 = it answered directly)'),
      }),
    )
    .optional()
    .describe(
      "per task, in the probe file's order: the greedy answer and its verdict (which tasks a run fixes and which it breaks)",
    ),
});

const CheckpointSavedSchema = defineEvent('checkpoint.saved', {
  path: z.string().min(1).describe('checkpoint location, relative to the run directory'),
  policyVersion: version,
  bytes: count.optional(),
});

/**
 * Where a training step's time goes (`step.finished.phases`): rollouts (propose, learnability samples, solve),
 * executor batches (validate, learnability grading, verify), buffer requests, TRR++ advantages, the optimizer step
 * (learn; async: waiting for the update in flight), probe and checkpoint. Every moment of a step is in one phase.
 */
export const PHASES = [
  'propose',
  'validate',
  'learnability',
  'learnabilityVerify',
  'buffer',
  'solve',
  'verify',
  'advantages',
  'learn',
  'probe',
  'checkpoint',
] as const;
export type Phase = (typeof PHASES)[number];

const StepFinishedSchema = defineEvent('step.finished', {
  durationMs: ms.describe('step time from the injected clock'),
  phases: z
    .partialRecord(z.enum(PHASES), ms)
    .optional()
    .describe('milliseconds per phase of the step (those it entered); they add up to durationMs (see PHASES)'),
});

const RolloutDroppedSchema = defineEvent('rollout.dropped', {
  id: z.string().min(1),
  role,
  task,
  reason: z
    .enum(['stale', 'aborted'])
    .describe('stale: beyond the staleness bound (async); aborted: abandoned at shutdown'),
  policyVersion: version.describe('version that produced the rollout'),
  currentPolicyVersion: version.describe('learner version when it was dropped'),
});

const ExecutorStatsSchema = defineEvent('executor.stats', {
  runs: count.describe('programs run since start'),
  errors: z.record(z.string(), count).describe('errors by kind since start'),
  respawns: count.describe('worker respawns since start'),
});

const ActorStateSchema = defineEvent('actor.state', {
  actor: z.string().min(1),
  state: z.string().min(1).describe('state value, dotted for nested states'),
});

const ErrorSchema = defineEvent('error', {
  source: z.string().min(1).describe('actor or service where it happened'),
  kind: z.string().min(1),
  message: z.string(),
  task: task.optional(),
  rolloutId: z.string().min(1).optional(),
});

/** Every run event: validate anything read from outside with this. */
export const RunEventSchema = z.discriminatedUnion('type', [
  BaseProgressSchema,
  RunStartedSchema,
  RunFinishedSchema,
  RolloutScoredSchema,
  ProposalValidatedSchema,
  LearnerStepSchema,
  HealthSchema,
  BufferSizesSchema,
  QueueDepthSchema,
  ProbeEvaluatedSchema,
  CheckpointSavedSchema,
  StepFinishedSchema,
  RolloutDroppedSchema,
  ExecutorStatsSchema,
  ActorStateSchema,
  ErrorSchema,
]);

export type RunEvent = z.infer<typeof RunEventSchema>;
export type RunEventType = RunEvent['type'];
/** The event of one type. */
export type RunEventOf<K extends RunEventType> = Extract<RunEvent, { type: K }>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What a producer emits: an event without its envelope. */
export type RunEventBody = DistributiveOmit<RunEvent, EnvelopeKey>;
export type RunEventBodyOf<K extends RunEventType> = Omit<RunEventOf<K>, EnvelopeKey>;

/** All event type names, in union order. */
export const RUN_EVENT_TYPES: readonly RunEventType[] = RunEventSchema.options.map((o) => o.shape.type.value);

/**
 * Builds a typed event body without the envelope, for `bus.emit`.
 * @example
 * bus.emit(eventBody('buffer.sizes', { sizes: { deduction: 12, abduction: 9, induction: 4 } }));
 */
export function eventBody<K extends RunEventType>(type: K, fields: Omit<RunEventBodyOf<K>, 'type'>): RunEventBodyOf<K> {
  // TS cannot see that adding the literal `type` back yields the member it was removed from.
  return { type, ...fields } as unknown as RunEventBodyOf<K>;
}

/** A value that is not a valid run event; the message lists every problem with its path. */
export class InvalidRunEventError extends Error {
  override readonly name = 'InvalidRunEventError';
  constructor(
    readonly issues: readonly z.core.$ZodIssue[],
    context: string,
  ) {
    super(`${context}:\n${z.prettifyError(new z.ZodError([...issues]))}`);
  }
}

/** Parses and validates one run event; throws {@link InvalidRunEventError} naming what is wrong. */
export function parseRunEvent(value: unknown, context = 'invalid run event'): RunEvent {
  const result = RunEventSchema.safeParse(value);
  if (!result.success) {
    const type = typeof value === 'object' && value !== null && 'type' in value ? String(value.type) : '?';
    throw new InvalidRunEventError(result.error.issues, `${context} (type ${type})`);
  }
  return result.data;
}

/** JSON Schema of the event union, for readers outside TypeScript (the feed publishes it). */
export function runEventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RunEventSchema) as Record<string, unknown>;
}
