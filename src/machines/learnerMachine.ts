// learnerMachine: the Learner actor — grants credit, gathers a step's scored rollouts, TRR++, one optimizer step.

import { assign, enqueueActions, fromCallback, fromPromise, setup, type AnyActorRef } from 'xstate';
import type { CoordinatorConfig } from './config.js';
import { ROLES, trrAdvantages, type GroupStats, type TaskType } from '../azr/index.js';
import {
  notProvided,
  type LearnBatch,
  type LearnInput,
  type LearnResult,
  type ScoredRollout,
  type TrainSample,
} from './effects.js';
import { errorMessage, type BatchFailure } from './protocol.js';

/**
 * The learner actor's start: the coordinator's config fields it learns by (taskTypes; trainProposer: the proposer's
 * rollouts too, or the solver's only; advantage; maxStaleness: rollouts more versions behind are dropped — declared
 * and documented in ./config.ts), and its state.
 */
export type LearnerInput = Pick<CoordinatorConfig, 'taskTypes' | 'trainProposer' | 'advantage' | 'maxStaleness'> & {
  /** Weight version the rollouts are being sampled with now (0 = base model). */
  readonly policyVersion: number;
  /** Rollouts the learner takes per step: it tops its credit up to this after every step. */
  readonly credit: number;
  readonly retries: number;
  /** Optimizer steps taken so far (restored from a checkpoint). */
  readonly stepsLearned?: number;
  /**
   * When the next step's credit is granted: false (sync) once the update is published — producers wait for the
   * learner; true (async) as soon as a step's batch is taken — producers make the next step while it learns.
   */
  readonly creditOnBatch?: boolean;
};

/** The inbox: delivers the channel's rollouts as `rollout` events, and tops the learner's credit up. */
export type InboxEvent = { readonly type: 'topUp'; readonly to: number };

export type LearnerRequest =
  /** A rollout arriving through the channel (sent by the inbox). */
  | { readonly type: 'rollout'; readonly rollout: ScoredRollout }
  /**
   * The step's producers are done: `expected` rollouts were pushed; compute advantages once all have arrived (and,
   * async, once the update in progress is done: it is remembered until then).
   */
  | { readonly type: 'endStep'; readonly step: number; readonly expected: number; readonly replyTo: AnyActorRef }
  /** Take the optimizer step on the advantaged batch. */
  | { readonly type: 'learn'; readonly replyTo: AnyActorRef }
  /** Discard the step's rollouts (shutdown mid-step). */
  | { readonly type: 'abandonStep' };

/** A rollout that was not learned from. */
interface DroppedRollout {
  readonly rollout: ScoredRollout;
  readonly reason: 'stale' | 'aborted';
}

export type LearnerReply =
  | {
      readonly type: 'learner.advantages';
      readonly step: number;
      readonly samples: readonly TrainSample[];
      readonly groups: readonly GroupStats[];
      readonly dropped: readonly DroppedRollout[];
      readonly policyVersion: number;
    }
  | {
      readonly type: 'learner.learned';
      readonly ok: true;
      readonly result: LearnResult;
      readonly publishError?: string;
    }
  | ({ readonly type: 'learner.learned' } & BatchFailure);

interface LearnerContext extends Omit<LearnerInput, 'stepsLearned' | 'creditOnBatch'> {
  readonly stepsLearned: number;
  readonly creditOnBatch: boolean;
  /** Rollouts arrived and not yet in a batch. */
  readonly received: readonly ScoredRollout[];
  /** An `endStep` not yet acted on (it arrived while the learner was busy with the previous step's update). */
  readonly pendingEnd: { readonly step: number; readonly expected: number; readonly replyTo: AnyActorRef } | null;
  readonly step: number;
  readonly expected: number;
  readonly samples: readonly TrainSample[];
  readonly groups: readonly GroupStats[];
  readonly result: LearnResult | null;
  readonly replyTo: AnyActorRef | null;
  readonly attempt: number;
}

/** The (role × type) batches of a step, in ROLES × taskTypes order, every group present even when empty. */
function learnBatches(
  samples: readonly TrainSample[],
  taskTypes: readonly TaskType[],
  trainProposer: boolean,
): LearnBatch[] {
  const roles = trainProposer ? ROLES : ROLES.filter((r) => r === 'solve');
  return roles.flatMap((role) =>
    taskTypes.map((type) => ({ role, type, samples: samples.filter((s) => s.role === role && s.type === type) })),
  );
}

/**
 * The Learner actor. It grants the channel credit for one step's rollouts; collects what arrives; on `endStep`
 * waits until every pushed rollout is in, drops any staler than `maxStaleness`, computes TRR++ advantages (six
 * groups, src/azr's `trrAdvantages`) and replies; on `learn` calls the learn effect once with all batches
 * (retrying a failure), publishes the new weight version, replies, and tops its credit up for the next step.
 */
export const learnerMachine = setup({
  types: {
    context: {} as LearnerContext,
    input: {} as LearnerInput,
    events: {} as LearnerRequest,
  },
  actors: {
    /** Subscribes to the learner's channel; grants credit on `topUp`. Provided with the channel. */
    inbox: fromCallback<InboxEvent, { credit: number }>(() => {
      throw notProvided('learnerMachine', 'inbox');
    }),
    learn: fromPromise<LearnResult, LearnInput>(async () => {
      throw notProvided('learnerMachine', 'learn');
    }),
    /** Makes the new version the one rollouts use. Default: nothing to do. */
    publish: fromPromise<void, { policyVersion: number }>(async () => undefined),
  },
  guards: {
    allArrived: ({ context }) => context.received.length >= context.expected,
    canRetry: ({ context }) => context.attempt < context.retries,
    endPending: ({ context }) => context.pendingEnd !== null,
    nothingToLearn: ({ context }) => context.samples.length === 0,
  },
  actions: {
    topUp: enqueueActions(({ context, enqueue }) =>
      enqueue.sendTo('inbox', { type: 'topUp', to: context.credit } satisfies InboxEvent),
    ),
    /** Sync: the next step's credit once the update is out. (Async granted it when the batch was taken.) */
    topUpAfterLearn: enqueueActions(({ context, enqueue }) => {
      if (!context.creditOnBatch) enqueue.sendTo('inbox', { type: 'topUp', to: context.credit } satisfies InboxEvent);
    }),
    clearStep: assign({ samples: [], groups: [], result: null, replyTo: null, attempt: 0, expected: 0 }),
    dropReceived: assign({ received: [], pendingEnd: null }),
    receive: assign({
      received: ({ context, event }) =>
        event.type === 'rollout' ? [...context.received, event.rollout] : context.received,
    }),
  },
}).createMachine({
  id: 'learner',
  context: ({ input }) => {
    const { stepsLearned, creditOnBatch: _creditOnBatch, ...rest } = input;
    return {
      ...rest,
      stepsLearned: stepsLearned ?? 0,
      creditOnBatch: input.creditOnBatch ?? false,
      received: [],
      pendingEnd: null,
      step: 0,
      expected: 0,
      samples: [],
      groups: [],
      result: null,
      replyTo: null,
      attempt: 0,
    };
  },
  invoke: { id: 'inbox', src: 'inbox', input: ({ context }) => ({ credit: context.credit }) },
  on: {
    rollout: { actions: 'receive' },
    endStep: {
      actions: assign({
        pendingEnd: ({ event }) => ({ step: event.step, expected: event.expected, replyTo: event.replyTo }),
      }),
    },
    // While an update runs (async): only what arrived for the next step is dropped; the update finishes.
    abandonStep: { actions: 'dropReceived' },
  },
  initial: 'collecting',
  states: {
    collecting: {
      always: {
        guard: 'endPending',
        target: 'awaitingRollouts',
        actions: assign(({ context }) => ({ ...context.pendingEnd!, pendingEnd: null })),
      },
      on: {
        abandonStep: { target: 'collecting', reenter: false, actions: ['clearStep', 'dropReceived', 'topUp'] },
      },
    },
    awaitingRollouts: {
      always: {
        guard: 'allArrived',
        target: 'ready',
        // TRR++: the rewards of each (role × type) group are normalised within that group (paper Eq. 8).
        actions: enqueueActions(({ context: c, enqueue }) => {
          // The step's rollouts become its batch; anything after them (none, in order) waits for the next step.
          const batch = c.received.slice(0, c.expected);
          const oldest = c.policyVersion - c.maxStaleness;
          const fresh = batch.filter((r) => r.policyVersion >= oldest);
          const dropped = batch
            .filter((r) => r.policyVersion < oldest)
            .map((rollout) => ({ rollout, reason: 'stale' as const }));
          const { advantages, groups } = trrAdvantages(
            fresh.map((r) => ({
              role: r.role,
              type: r.type,
              reward: r.reward,
              length: r.tokens,
              ...(r.group !== undefined ? { group: r.group } : {}),
            })),
            c.advantage,
          );
          const samples = fresh.map((r, j) => ({ ...r, advantage: advantages[j]! }));
          enqueue.assign({ samples, groups, received: c.received.slice(c.expected) });
          // Async: room for the next step's rollouts now, so they are made while this batch is learned.
          if (c.creditOnBatch) enqueue('topUp');
          enqueue.sendTo(c.replyTo!, {
            type: 'learner.advantages',
            step: c.step,
            samples,
            groups,
            dropped,
            policyVersion: c.policyVersion,
          } satisfies LearnerReply);
        }),
      },
      on: { abandonStep: { target: 'collecting', actions: ['clearStep', 'dropReceived', 'topUp'] } },
    },
    ready: {
      on: {
        learn: [
          // Every rollout of the step was dropped (e.g. stale): no optimizer step, and a reply that says why.
          {
            guard: 'nothingToLearn',
            target: 'collecting',
            actions: [
              enqueueActions(({ context, event, enqueue }) =>
                enqueue.sendTo(event.replyTo, {
                  type: 'learner.learned',
                  ok: false,
                  error: `learner: step ${context.step} has no rollout left to learn from`,
                  attempts: 0,
                } satisfies LearnerReply),
              ),
              'clearStep',
              'topUpAfterLearn',
            ],
          },
          { target: 'learning', actions: assign({ replyTo: ({ event }) => event.replyTo }) },
        ],
        abandonStep: { target: 'collecting', actions: ['clearStep', 'dropReceived', 'topUp'] },
      },
    },
    /** One optimizer step over all the step's batches (paper: 6 × 64 sequences, one update). */
    learning: {
      invoke: {
        src: 'learn',
        input: ({ context: c }) => ({
          step: c.step,
          batches: learnBatches(c.samples, c.taskTypes, c.trainProposer),
          groups: c.groups,
        }),
        onDone: {
          target: 'publishing',
          actions: assign(({ context, event }) => ({
            result: event.output,
            policyVersion: event.output.policyVersion,
            stepsLearned: context.stepsLearned + 1,
            attempt: 0,
          })),
        },
        onError: [
          {
            guard: 'canRetry',
            target: 'learning',
            reenter: true,
            actions: assign({ attempt: ({ context }) => context.attempt + 1 }),
          },
          {
            target: 'collecting',
            actions: [
              enqueueActions(({ context, event, enqueue }) =>
                enqueue.sendTo(context.replyTo!, {
                  type: 'learner.learned',
                  ok: false,
                  error: `learner: ${errorMessage(event.error)}`,
                  attempts: context.attempt + 1,
                } satisfies LearnerReply),
              ),
              'clearStep',
              'topUpAfterLearn',
            ],
          },
        ],
      },
    },
    publishing: {
      invoke: {
        src: 'publish',
        input: ({ context }) => ({ policyVersion: context.policyVersion }),
        onDone: {
          target: 'collecting',
          actions: [
            enqueueActions(({ context, enqueue }) =>
              enqueue.sendTo(context.replyTo!, {
                type: 'learner.learned',
                ok: true,
                result: context.result!,
              } satisfies LearnerReply),
            ),
            'clearStep',
            'topUpAfterLearn',
          ],
        },
        onError: {
          target: 'collecting',
          actions: [
            enqueueActions(({ context, event, enqueue }) =>
              enqueue.sendTo(context.replyTo!, {
                type: 'learner.learned',
                ok: true,
                result: context.result!,
                publishError: errorMessage(event.error),
              } satisfies LearnerReply),
            ),
            'clearStep',
            'topUpAfterLearn',
          ],
        },
      },
    },
  },
});
