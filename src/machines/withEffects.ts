// withEffects: the machines provided with a run's effects and the learner's channel (machine.provide, all the way down).

import { fromCallback, fromPromise } from 'xstate';
import type { CreditChannel } from '../streams/creditChannel.js';
import type { QueueStatus } from '../streams/queueStatus.js';
import { coordinatorMachine, type EventSink } from './coordinatorMachine.js';
import type {
  CheckpointData,
  Effects,
  ExecutorEffect,
  LearnerEffect,
  PolicyEffect,
  ProbeResult,
  RolloutChannel,
  ScoredRollout,
  Slot,
} from './effects.js';
import { executorMachine } from './executorMachine.js';
import { learnerMachine, type InboxEvent } from './learnerMachine.js';
import { proposerMachine } from './proposerMachine.js';
import { solverMachine } from './solverMachine.js';

/** The machines' view of a src/streams `CreditChannel` of scored rollouts. */
export function fromCreditChannel(channel: CreditChannel<ScoredRollout>): RolloutChannel & { status(): QueueStatus } {
  return {
    reserve: (signal) => channel.reserve(signal),
    subscribe: (onRollout) => channel.output$.subscribe(onRollout),
    credit: () => channel.status().credit ?? 0,
    grant: (n) => channel.grant(n),
    status: () => channel.status(),
  };
}

/** Reserves `count` slots one by one (each waits for credit); on failure or abort gives back what it holds. */
function reserveActor(channel: RolloutChannel) {
  return fromPromise<Slot[], { count: number }>(async ({ input, signal }) => {
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < input.count; i++) slots.push(await channel.reserve(signal));
    } catch (e) {
      for (const s of slots) s.release();
      throw e;
    }
    return slots;
  });
}

export function proposerWithEffects(policy: PolicyEffect, channel: RolloutChannel) {
  return proposerMachine.provide({
    actors: { generate: fromPromise(({ input }) => policy.generate(input)), reserve: reserveActor(channel) },
  });
}

export function solverWithEffects(policy: PolicyEffect, channel: RolloutChannel) {
  return solverMachine.provide({
    actors: { generate: fromPromise(({ input }) => policy.generate(input)), reserve: reserveActor(channel) },
  });
}

export function executorWithEffects(executor: ExecutorEffect) {
  return executorMachine.provide({
    actors: {
      validate: fromPromise(({ input }) => executor.validate(input)),
      check: fromPromise(({ input }) => executor.check(input)),
    },
  });
}

export function learnerWithEffects(learner: LearnerEffect, channel: RolloutChannel) {
  return learnerMachine.provide({
    actors: {
      // Subscribe first (credit is only granted to a listening consumer), then grant the first step's credit.
      inbox: fromCallback<InboxEvent, { credit: number }>(({ input, sendBack, receive }) => {
        const subscription = channel.subscribe((rollout) => sendBack({ type: 'rollout', rollout }));
        const topUp = (to: number) => {
          const missing = to - channel.credit();
          if (missing > 0) channel.grant(missing);
        };
        topUp(input.credit);
        receive((e) => topUp(e.to));
        return () => subscription.unsubscribe();
      }),
      learn: fromPromise(({ input }) => learner.learn(input)),
      publish: fromPromise(async ({ input }) => {
        await learner.publish?.(input.policyVersion);
      }),
    },
  });
}

interface Wiring {
  /** The learner's inbound channel (a `CreditChannel` through {@link fromCreditChannel}). */
  readonly channel: RolloutChannel;
  /** Emits `queue.depth` for each queue, once per step (e.g. `bus.emit(queueDepthBody(channel.status()))`). */
  readonly reportQueues?: () => void;
  /** Where the coordinator's run events go (the run's `EventBus`), and its steps; default: nowhere. */
  readonly events?: EventSink;
}

/** The coordinator with every actor provided with its effects: what `src/actors` starts for a real run. */
export function withEffects(effects: Effects, wiring: Wiring) {
  const { policy, executor, learner, probe, checkpoint } = effects;
  return coordinatorMachine.provide({
    actors: {
      proposer: proposerWithEffects(policy, wiring.channel),
      solver: solverWithEffects(policy, wiring.channel),
      executor: executorWithEffects(executor),
      learner: learnerWithEffects(learner, wiring.channel),
      probe: fromPromise<ProbeResult | null, { step: number; policyVersion: number }>(async ({ input }) =>
        probe ? probe.evaluate(input) : null,
      ),
      checkpoint: fromPromise<{ path: string; bytes?: number } | null, CheckpointData>(async ({ input }) =>
        checkpoint ? checkpoint.save(input) : null,
      ),
    },
    actions: {
      reportQueues: () => wiring.reportQueues?.(),
      emit: (_, bodies) => {
        for (const body of bodies) wiring.events?.emit(body);
      },
      enterStep: (_, step) => wiring.events?.setStep?.(step),
    },
  });
}
