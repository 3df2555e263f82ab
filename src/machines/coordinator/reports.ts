// The run events the coordinator emits (through its `emit` action): their bodies, built from replies and context.

import type { TaskType } from '../../azr/index.js';
import { eventBody, type RunEventBody } from '../../streams/events.js';
import type { CheckResult, ProbeResult } from '../effects.js';
import type { Validated } from '../executorMachine.js';
import type { LearnerReply } from '../learnerMachine.js';
import { errorMessage, type Answer, type Proposal } from '../protocol.js';
import { currentType, type CoordinatorContext, type CoordinatorEvent } from './context.js';
import { healthBody, type Advantages } from './health.js';

function errorBody(
  source: string,
  kind: string,
  message: string,
  extra: { task?: TaskType; rolloutId?: string } = {},
): RunEventBody {
  return eventBody('error', { source, kind, message, ...extra });
}
/** What a report reads: the context and the reply being handled (the arguments of an action's dynamic params). */
interface Reading {
  readonly context: CoordinatorContext;
  readonly event: CoordinatorEvent;
}

/** A proposer or solver batch: an `error` per rollout the policy failed to produce. */
export function policyFailed({ event: e }: Reading): RunEventBody[] {
  if (e.type === 'proposer.proposed' && e.ok) return policyFailures(e.proposals);
  if (e.type === 'solver.solved' && e.ok) return policyFailures(e.answers);
  return [];
}

/** A whole batch failed after its retries: one `error` event (the step goes on without that batch). */
export function batchFailed({ context, event }: Reading): RunEventBody[] {
  return 'ok' in event && !event.ok ? [batchFailureBody(context, event)] : [];
}

/** An executor batch: an `error` per item the sandbox could not judge (validate) or run (check). */
export function executorFailed({ context, event }: Reading): RunEventBody[] {
  if (event.type === 'executor.validated' && event.ok) return validationFailures(event.results, currentType(context));
  if (event.type === 'executor.checked' && event.ok) return checkFailures(event.results, currentType(context));
  return [];
}

/** The learner's reply to `learn`: `learner.step`, or an error. */
export function learned({ context, event }: Reading): RunEventBody[] {
  return event.type === 'learner.learned' ? learnedBodies(context, event) : [];
}

function policyFailures(items: readonly (Proposal | Answer)[]): RunEventBody[] {
  return items.flatMap((x) =>
    x.completion === null && !x.parsed.ok
      ? [errorBody('policy', 'policyFailed', x.parsed.message, { task: x.type, rolloutId: x.id })]
      : [],
  );
}

function validationFailures(results: readonly Validated[], type: TaskType): RunEventBody[] {
  return results.flatMap((r) =>
    !r.ok && r.infrastructure
      ? [errorBody('executor', r.error.kind, r.error.message, { task: type, rolloutId: r.id })]
      : [],
  );
}

function checkFailures(results: readonly CheckResult[], type: TaskType): RunEventBody[] {
  return results.flatMap((r) =>
    r.ok ? [] : [errorBody('executor', r.error.kind, r.error.message, { task: type, rolloutId: r.id })],
  );
}

function probeBody(c: CoordinatorContext, result: ProbeResult): RunEventBody {
  return eventBody('probe.evaluated', {
    policyVersion: c.policyVersion,
    tasks: result.tasks,
    accuracy: result.accuracy,
    byTier: result.byTier,
    ...(result.traceShare !== undefined ? { traceShare: result.traceShare } : {}),
    ...(result.sampled !== undefined ? { sampled: result.sampled } : {}),
    ...(result.results !== undefined ? { results: [...result.results] } : {}),
  });
}

/** The `error` of a whole batch that failed after its retries (the step goes on without it). */
function batchFailureBody(
  c: CoordinatorContext,
  event: { readonly type: string; readonly error: string; readonly attempts: number },
): RunEventBody {
  const source = event.type.slice(0, event.type.indexOf('.'));
  const type = currentType(c);
  return errorBody(
    source,
    'batchFailed',
    `${event.error} (after ${event.attempts} attempts); step ${c.step} goes on without this batch`,
    { task: type },
  );
}

/** The learner's reply to `learn`: `learner.step` (and a publish failure), or an error. */
function learnedBodies(
  c: CoordinatorContext,
  event: Extract<LearnerReply, { type: 'learner.learned' }>,
): RunEventBody[] {
  const step = c.learning ?? c.step;
  if (!event.ok) {
    const kind = event.attempts === 0 ? 'nothingToLearn' : 'learnFailed';
    const detail = event.attempts === 0 ? '' : ` (after ${event.attempts} attempts)`;
    return [errorBody('learner', kind, `${event.error}${detail}; step ${step} was not learned`)];
  }
  const r = event.result;
  return [
    eventBody('learner.step', {
      loss: r.loss,
      gradNorm: r.gradNorm,
      entropy: r.entropy,
      policyVersion: r.policyVersion,
      tokensPerSecond: r.tokensPerSecond,
      ...(r.kl !== undefined ? { kl: r.kl } : {}),
    }),
    ...(event.publishError ? [errorBody('learner', 'publishFailed', event.publishError)] : []),
  ];
}

/** Seeding's end: a `seedShortfall` per type short of seedSize, then the buffer sizes. */
function seedingDoneBodies(c: CoordinatorContext): RunEventBody[] {
  const shortfalls = c.config.taskTypes
    .filter((t) => c.sizes[t] < c.config.seedSize)
    .map((t) =>
      errorBody(
        'coordinator',
        'seedShortfall',
        `seeding stopped after ${c.seedRounds[t]} rounds with ${c.sizes[t]} of ${c.config.seedSize} ${t} tasks`,
        { task: t },
      ),
    );
  return [...shortfalls, eventBody('buffer.sizes', { sizes: c.sizes })];
}

/** The step's `rollout.scored` (one per trained sample) and `rollout.dropped` (stale) events. */
function advantageBodies(event: Extract<LearnerReply, { type: 'learner.advantages' }>): RunEventBody[] {
  return [
    ...event.samples.map((x) =>
      eventBody('rollout.scored', {
        role: x.role,
        task: x.type,
        id: x.id,
        reward: x.reward,
        advantage: x.advantage,
        policyVersion: x.policyVersion,
        tokens: x.tokens,
        ...(x.reasoning ? { reasoning: x.reasoning } : {}),
      }),
    ),
    ...event.dropped.map((d) =>
      eventBody('rollout.dropped', {
        id: d.rollout.id,
        role: d.rollout.role,
        task: d.rollout.type,
        reason: d.reason,
        policyVersion: d.rollout.policyVersion,
        currentPolicyVersion: event.policyVersion,
      }),
    ),
  ];
}

/** The step's advantages are in: its scored and dropped rollouts, its health, the buffer sizes. */
export function scored({ context: c, event }: Reading): RunEventBody[] {
  if (event.type !== 'learner.advantages') return [];
  return [...advantageBodies(event), healthBody(c, event as Advantages), eventBody('buffer.sizes', { sizes: c.sizes })];
}

/** Seeding's end (see seedingDoneBodies). */
export const seedingDone = ({ context }: { context: CoordinatorContext }) => seedingDoneBodies(context);
/** A stop (see abortedBodies). */
export const aborted = ({ context }: { context: CoordinatorContext }) => abortedBodies(context);

/** A stop abandons the step in flight: its pushed rollouts are dropped as `aborted`. */
function abortedBodies(c: CoordinatorContext): RunEventBody[] {
  return c.pushed.map((p) =>
    eventBody('rollout.dropped', {
      id: p.id,
      role: p.role,
      task: p.type,
      reason: 'aborted',
      policyVersion: p.policyVersion,
      currentPolicyVersion: c.policyVersion,
    }),
  );
}

/** The probe's result (null: no probe configured): `probe.evaluated`. */
export function probed({ context, event }: { context: CoordinatorContext; event: { output: ProbeResult | null } }) {
  return event.output ? [probeBody(context, event.output)] : [];
}

/** A written checkpoint (null: checkpoints are not kept): `checkpoint.saved`. */
export function checkpointSaved({ context, event }: { context: CoordinatorContext; event: { output: Saved | null } }) {
  return event.output ? [checkpointSavedBody(context, event.output)] : [];
}

/** An effect of the coordinator's own (probe, checkpoint) failed: one `error` of `kind` (the run goes on). */
export function failed(source: string, kind: string) {
  return ({ event }: { event: { error: unknown } }): RunEventBody[] => [
    errorBody(source, kind, errorMessage(event.error)),
  ];
}

type Saved = { path: string; bytes?: number };

function checkpointSavedBody(c: CoordinatorContext, saved: { path: string; bytes?: number }): RunEventBody {
  return eventBody('checkpoint.saved', {
    path: saved.path,
    policyVersion: c.policyVersion,
    ...(saved.bytes !== undefined ? { bytes: saved.bytes } : {}),
  });
}
