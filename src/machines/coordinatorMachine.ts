// coordinatorMachine: the AZR self-play loop as a statechart — its states are the paper's step, in order.
//
//   seeding        fill the buffers to seedSize valid tasks with the proposer, no learning (paper §5.1)
//   baseProbe      evaluate the base model once before any self-play step
//   training       per step t = 1 … steps:
//     drawSolverTasks                          the step's solver tasks, from the buffers as they stand now (§5.4)
//     for each enabled task type, in order:
//       propose → validate → learnability → rewardProposals → appendToBuffer
//       solve → verify → rewardSolutions
//     advantages                               TRR++: six (role × type) groups, normalised separately
//     learn                                    one optimizer step over all six batches
//     probe                                    every probeEvery steps
//     checkpoint                               every checkpointEvery steps, and after the last
//   stopping       on STOP: abandon the step in flight (or finish its learn/probe/checkpoint), checkpoint
//   finished
//
// mode async (not the paper): `learn` hands the batch to the learner and does not wait — step t + 1 is proposed and
// solved while step t is learned (the learner grants step t + 1's credit when it takes step t's batch, so producers
// are never more than one step ahead); its batch is formed once step t's update is out, and rollouts older than
// version − maxStaleness are dropped then (`rollout.dropped`, reason stale). A probe or checkpoint waits for the
// update in flight, and a STOP finishes the step in flight (its update is entangled with the previous one's).
//
// This file sequences; what the states compute lives in ./coordinator/ (requests, replies, rewards, reports, health,
// novelty, checkpoint, context, inputs). Run events leave through the `emit` action the run provides (withEffects.ts).

import { and, assign, fromPromise, setup, type AnyActorRef } from 'xstate';
import type { Phase, RunEventBody } from '../streams/events.js';
import { bufferMachine } from './bufferMachine.js';
import type { CheckpointData, ProbeResult } from './effects.js';
import { executorMachine } from './executorMachine.js';
import { learnerMachine, type LearnerRequest } from './learnerMachine.js';
import { EMPTY_WORK, validateItems, validProposals } from './phases.js';
import { proposerMachine } from './proposerMachine.js';
import { solverMachine } from './solverMachine.js';
import { checkpointData } from './coordinator/checkpoint.js';
import * as ctx from './coordinator/context.js';
import type { ActorName, CoordinatorContext } from './coordinator/context.js';
import { bufferInput, executorInput, learnerInput, policyInput } from './coordinator/inputs.js';
import * as reply from './coordinator/replies.js';
import * as report from './coordinator/reports.js';
import * as request from './coordinator/requests.js';
import { proposalRewards, seedProposals, solutionRewards, type Rewarded } from './coordinator/rewards.js';
import { abandoned, handOver } from './coordinator/rollouts.js';

export type { CoordinatorInput, CoordinatorOutput, EventSink } from './coordinator/context.js';

/**
 * The coordinator runs the five actors (invoked for its whole life, system ids their names) by request and reply.
 * Their effects, its own `probe` and `checkpoint` (absent: skipped) and `emit` (absent: nowhere) are provided.
 */
const coordinator = setup({
  types: {
    context: {} as CoordinatorContext,
    input: {} as ctx.CoordinatorInput,
    events: {} as ctx.CoordinatorEvent,
    output: {} as ctx.CoordinatorOutput,
  },
  actors: {
    buffer: bufferMachine,
    proposer: proposerMachine,
    solver: solverMachine,
    executor: executorMachine,
    learner: learnerMachine,
    /** Greedy evaluation on the probe set; null = no probe configured (the phase is skipped). */
    probe: fromPromise<ProbeResult | null, { step: number; policyVersion: number }>(async () => null),
    /** Writes a checkpoint; null = checkpoints are not kept. */
    checkpoint: fromPromise<{ path: string; bytes?: number } | null, CheckpointData>(async () => null),
  },
  actions: {
    /** Where run events leave the coordinator, in order (provided by the run: its event bus); by default nowhere. */
    emit: (_, _bodies: readonly RunEventBody[]) => {},
    /** The run enters training step `step`: the events from now on carry it (provided beside `emit`). */
    enterStep: (_, _step: number) => {},
    /** Emits `queue.depth` for the queues between actors (provided with the channel by withEffects). */
    reportQueues: () => {},
    /** A training step enters phase `name` (outside training, e.g. seeding, nothing is timed). */
    phase: assign(({ context: c }, name: Phase) => (c.phase === null ? {} : ctx.switchPhase(c, c.clock(), name))),
    /** Pushes the rollouts to the learner and releases the slots of the items not pushed. */
    handOver: (_, r: Pick<Rewarded, 'pushes' | 'items'>) => handOver(r.pushes, r.items),
    clearWork: assign({ work: EMPTY_WORK }),
    requestStop: assign({ stopRequested: true }),
    storeSnapshot: assign(({ context, event }) => reply.withSnapshot(context, event)),
    dropSnapshot: assign({ bufferSnapshot: null }),
    startSeedRound: assign(({ context }) => ctx.seedRoundStart(context)),
    endSeeding: assign({ seeded: true, taskType: null, work: EMPTY_WORK }),
    startStep: assign(({ context }) => ctx.stepStart(context)),
    nextType: assign({ taskType: ({ context }) => ctx.nextType(context) }),
    storeSolverTasks: assign(({ context, event }) => reply.withSolverTasks(context, event)),
    storeProposals: assign(({ context, event }) => reply.withProposals(context, event)),
    storeValidations: assign(({ context, event }) => reply.withValidations(context, event)),
    storeMcAnswers: assign(({ context, event }) => reply.withMcAnswers(context, event)),
    storeMc: assign(({ context, event }) => reply.withMc(context, event)),
    storeAppended: assign(({ context, event }) => reply.withAppended(context, event)),
    storeAnswers: assign(({ context, event }) => reply.withAnswers(context, event)),
    storeChecks: assign(({ context, event }) => reply.withChecks(context, event)),
    storeAdvantages: assign(({ context }) => reply.withAdvantages(context)),
    storeLearning: assign({ learning: ({ context }) => context.step }),
    storeLearned: assign(({ context, event }) => reply.withLearned(context, event)),
  },
  guards: {
    resumeTraining: ({ context }) => context.resume !== null && context.resume.seeded,
    stopRequested: ({ context }) => context.stopRequested,
    allStepsDone: ({ context }) => context.step >= context.config.steps,
    isAsync: ({ context }) => context.config.mode === 'async',
    learnPending: ({ context }) => context.learning !== null,
    moreTypes: ({ context }) => ctx.nextType(context) !== null,
    nothingToValidate: ({ context }) => validateItems(context.work).length === 0,
    nothingValid: ({ context }) => validProposals(context.work).length === 0,
    seedTypeLeft: ({ context }) => ctx.nextSeedType(context) !== null,
    probeDue: ({ context }) => ctx.probeDue(context),
    checkpointDue: ({ context }) => ctx.checkpointDue(context),
    batchOk: ({ event }) => 'ok' in event && event.ok,
  },
});

/** Emits the run events `bodies` reads from the context and the event being handled (see reports.ts). */
const say = <A>(bodies: (a: A) => readonly RunEventBody[]) => ({ type: 'emit', params: bodies }) as const;
const reportPolicyFailures = say(report.policyFailed);
const reportExecutorFailures = say(report.executorFailed);
/** What the coordinator does with the learner's reply to `learn`, wherever it waits for it. */
const LEARNED = [say(report.learned), 'storeLearned'] as const;
/** A STOP that lets the phase finish first. */
const stopAfter = { STOP: { actions: 'requestStop' } } as const;

/** A batch reply: on success to `ok` with `actions`; else (the batch failed after its retries: one `error`) to `failed`. */
function onBatch<const A>(ok: string, actions: A, failed = ok) {
  return [
    { guard: 'batchOk', target: ok, actions },
    { target: failed, actions: say(report.batchFailed) },
  ] as const;
}

/** Sends actor `to` the request `build` makes of the context (none when it makes none). */
function ask(to: ActorName, build: (c: CoordinatorContext, self: AnyActorRef) => object | null) {
  return coordinator.enqueueActions(({ context, self, enqueue }) => {
    const message = build(context, self);
    if (message) enqueue.sendTo(to, message as never);
  });
}

/** A reward phase: its events, its rollouts to the learner (the other slots released), what the context keeps. */
function reward(of: (c: CoordinatorContext) => Rewarded) {
  return coordinator.enqueueActions(({ context, enqueue }) => {
    const r = of(context);
    enqueue({ type: 'emit', params: r.bodies });
    enqueue({ type: 'handOver', params: r });
    enqueue.assign(r.context);
  });
}

/** The step ends: its phases close (so they add up to its duration), and `step.finished` says how long each took. */
const endStep = coordinator.enqueueActions(({ context, enqueue }) => {
  const { context: closed, body } = ctx.stepEnd(context);
  enqueue.assign(closed);
  enqueue({ type: 'emit', params: [body] });
});

/** The probe's and checkpoint's first substates: when `due`, on to `then` (async: once the update in flight lands). */
function whenDue<S extends string>(due: 'probeDue' | 'checkpointDue', then: S) {
  return {
    deciding: {
      always: [
        { guard: and([due, 'learnPending']), target: 'awaitUpdate' },
        { guard: due, target: then },
        { target: 'done' },
      ],
    },
    awaitUpdate: {
      entry: { type: 'phase', params: 'learn' },
      on: { 'learner.learned': { target: then, actions: LEARNED } },
    },
  } as const;
}

/** The probe (the base model's, or every probeEvery steps): `probe.evaluated`, or an error; then `then`. */
function probeState(then: string, step: (c: CoordinatorContext) => number) {
  return coordinator.createStateConfig({
    invoke: {
      src: 'probe',
      input: ({ context }) => ({ step: step(context), policyVersion: context.policyVersion }),
      onDone: { target: then, actions: say(report.probed) },
      onError: { target: then, actions: say(report.failed('probe', 'probeFailed')) },
    },
  });
}

/** The substates that write a checkpoint — snapshot the buffers, write, done — of training's checkpoint and stopping. */
function checkpointStates(timed: boolean) {
  const snapshot = ask('buffer', request.snapshotRequest);
  return {
    snapshot: coordinator.createStateConfig({
      entry: timed ? [{ type: 'phase', params: 'checkpoint' }, snapshot] : snapshot,
      on: { 'buffer.snapshot': { target: 'writing', actions: 'storeSnapshot' } },
    }),
    writing: coordinator.createStateConfig({
      invoke: {
        src: 'checkpoint',
        input: ({ context, self }) => checkpointData(context, self),
        onDone: { target: 'done', actions: [say(report.checkpointSaved), 'dropSnapshot'] },
        onError: { target: 'done', actions: [say(report.failed('checkpoint', 'checkpointFailed')), 'dropSnapshot'] },
      },
    }),
    done: { type: 'final' },
  } as const;
}

export const coordinatorMachine = coordinator.createMachine({
  id: 'coordinator',
  context: ({ input }) => ctx.initialContext(input),
  invoke: [
    { id: 'buffer', systemId: 'buffer', src: 'buffer', input: ({ context }) => bufferInput(context) },
    { id: 'proposer', systemId: 'proposer', src: 'proposer', input: ({ context }) => policyInput(context, 'proposer') },
    { id: 'solver', systemId: 'solver', src: 'solver', input: ({ context }) => policyInput(context, 'solver') },
    { id: 'executor', systemId: 'executor', src: 'executor', input: ({ context }) => executorInput(context) },
    { id: 'learner', systemId: 'learner', src: 'learner', input: ({ context }) => learnerInput(context) },
  ],
  initial: 'starting',
  states: {
    starting: { always: [{ guard: 'resumeTraining', target: 'training' }, { target: 'seeding' }] },

    // ===========================================================================================================
    // Seeding (paper §5.1): propose with the growing buffers as references, keep the valid tasks (deduplicated),
    // no learnability filter, no learning. Triplets go into both the deduction and the abduction buffer.
    seeding: {
      on: { STOP: '#coordinator.stopping' },
      initial: 'next',
      states: {
        next: {
          // A round starts here: everything logged so far belongs to finished rounds (see CheckpointData.seeding).
          entry: assign({ seedMark: ({ context }) => context.eventSeq?.() ?? null }),
          always: [{ guard: 'seedTypeLeft', target: 'propose', actions: 'startSeedRound' }, { target: 'done' }],
        },
        propose: {
          entry: ask('proposer', request.proposeRequest),
          on: { 'proposer.proposed': onBatch('validate', ['storeProposals', reportPolicyFailures], 'next') },
        },
        validate: {
          always: { guard: 'nothingToValidate', target: 'next' },
          entry: ask('executor', request.validateRequest),
          on: { 'executor.validated': onBatch('append', ['storeValidations', reportExecutorFailures], 'next') },
        },
        append: {
          entry: [say(seedProposals), ask('buffer', request.seedAppendRequest)],
          on: { 'buffer.appended': { target: 'next', actions: 'storeAppended' } },
        },
        done: { type: 'final', entry: [say(report.seedingDone), 'endSeeding'] },
      },
      onDone: 'baseProbe',
    },

    // ===========================================================================================================
    // The base model's probe accuracy, before any self-play step: what every later probe is compared with.
    // A stop waits for it: a resume goes straight to training, so an abandoned base probe would never be logged.
    baseProbe: { on: stopAfter, ...probeState('afterBaseProbe', () => 0) },
    afterBaseProbe: { always: [{ guard: 'stopRequested', target: 'stopping' }, { target: 'training' }] },

    // ===========================================================================================================
    training: {
      initial: 'next',
      states: {
        next: {
          always: [
            { guard: and(['stopRequested', 'learnPending']), target: 'drain' },
            { guard: 'stopRequested', target: '#coordinator.finished', actions: assign({ reason: 'interrupted' }) },
            { guard: and(['allStepsDone', 'learnPending']), target: 'drain' },
            { guard: 'allStepsDone', target: '#coordinator.finished' },
            { target: 'step' },
          ],
        },
        /** Async: the last update lands before the run ends (the last step's checkpoint normally waited already). */
        drain: { on: { 'learner.learned': { target: 'next', actions: LEARNED } } },
        step: {
          entry: ['startStep', { type: 'enterStep', params: ({ context }) => context.step }],
          on: {
            // Async: finish the step in flight (a stop then checkpoints it, after the update in flight lands).
            STOP: [{ guard: 'isAsync', actions: 'requestStop' }, { target: '#coordinator.stopping' }],
            // Async: the previous step's update lands while this step is produced.
            'learner.learned': { actions: LEARNED },
          },
          initial: 'drawSolverTasks',
          states: {
            /** The step's solver tasks come from the buffers as they stand at its start (paper §5.4). */
            drawSolverTasks: {
              entry: ask('buffer', request.drawSolverTasksRequest),
              on: { 'buffer.solverTasks': { target: 'propose', actions: 'storeSolverTasks' } },
            },

            // ---- the proposer's half of task type T -------------------------------------------------------------
            propose: {
              entry: [{ type: 'phase', params: 'propose' }, ask('proposer', request.proposeRequest)],
              on: { 'proposer.proposed': onBatch('validate', ['storeProposals', reportPolicyFailures], 'solve') },
            },
            /** Parses, no banned capability, runs within limits, deterministic: one executor batch. */
            validate: {
              always: { guard: 'nothingToValidate', target: 'learnability' },
              entry: [{ type: 'phase', params: 'validate' }, ask('executor', request.validateRequest)],
              // A failed batch: its unjudged proposals are dropped (not trained, not buffered); ill-formed ones earn −1.
              on: { 'executor.validated': onBatch('learnability', ['storeValidations', reportExecutorFailures]) },
            },
            /** n solver samples per valid proposal at the training temperature, graded; never trained on. */
            learnability: {
              initial: 'sample',
              states: {
                sample: {
                  always: { guard: 'nothingValid', target: 'done' },
                  entry: [{ type: 'phase', params: 'learnability' }, ask('solver', request.learnabilityRequest)],
                  // A failed batch: no estimate; the valid proposals are buffered but not trained on.
                  on: { 'solver.solved': onBatch('grade', 'storeMcAnswers', 'done') },
                },
                grade: {
                  entry: [{ type: 'phase', params: 'learnabilityVerify' }, ask('executor', request.gradeRequest)],
                  on: { 'executor.checked': onBatch('done', ['storeMc', reportExecutorFailures]) },
                },
                done: { type: 'final' },
              },
              onDone: 'rewardProposals',
            },
            /** r_propose: −1 invalid, else 1 − r̄ when 0 < r̄ < 1, else 0 (src/azr learnabilityReward); to the learner. */
            rewardProposals: { entry: reward(proposalRewards), always: 'appendToBuffer' },
            /** Every valid proposal (buffer.admit: learnable — 0 < p̂ < 1) joins its type's buffer, tagged with this step. */
            appendToBuffer: {
              entry: [{ type: 'phase', params: 'buffer' }, ask('buffer', request.appendRequest)],
              on: { 'buffer.appended': { target: 'solve', actions: 'storeAppended' } },
            },

            // ---- the solver's half of task type T ---------------------------------------------------------------
            solve: {
              entry: [{ type: 'phase', params: 'solve' }, ask('solver', request.solveRequest)],
              on: { 'solver.solved': onBatch('verify', ['storeAnswers', reportPolicyFailures], 'rewardSolutions') },
            },
            /** Each well-formed answer run against its task in the sandbox (abduction: any input giving o passes). */
            verify: {
              entry: [{ type: 'phase', params: 'verify' }, ask('executor', request.verifyRequest)],
              on: { 'executor.checked': onBatch('rewardSolutions', ['storeChecks', reportExecutorFailures]) },
            },
            /** r_solve: −1 format error, −0.5 wrong, else accuracy (src/azr solverReward); to the learner. */
            rewardSolutions: {
              entry: reward(solutionRewards),
              always: [
                { guard: 'moreTypes', target: 'propose', actions: ['nextType', 'clearWork'] },
                { target: 'advantages', actions: 'clearWork' },
              ],
            },

            // ---- the update ------------------------------------------------------------------------------------
            /** TRR++ in the learner: each (role × type) batch normalised separately; one rollout.scored each. */
            advantages: {
              entry: [{ type: 'phase', params: 'advantages' }, ask('learner', request.endStepRequest)],
              on: { 'learner.advantages': { target: 'learn', actions: [say(report.scored), 'storeAdvantages'] } },
            },
            /** One optimizer step over all six batches; the new weights are published for the next rollouts. */
            learn: {
              entry: [{ type: 'phase', params: 'learn' }, ask('learner', request.learnRequest), 'storeLearning'],
              // Async: on to the next step while the learner learns this one.
              always: { guard: 'isAsync', target: 'probe' },
              // Sync: finish the step's update before stopping: the checkpoint then holds a consistent learner.
              on: { ...stopAfter, 'learner.learned': { target: 'probe', actions: LEARNED } },
            },
            probe: {
              on: stopAfter,
              initial: 'deciding',
              states: {
                ...whenDue('probeDue', 'evaluating'),
                evaluating: { entry: { type: 'phase', params: 'probe' }, ...probeState('done', (c) => c.step) },
                done: { type: 'final' },
              },
              onDone: 'checkpoint',
            },
            checkpoint: {
              on: stopAfter,
              initial: 'deciding',
              states: { ...whenDue('checkpointDue', 'snapshot'), ...checkpointStates(true) },
              onDone: 'done',
            },
            done: { type: 'final', entry: endStep },
          },
          onDone: { target: 'next', actions: 'reportQueues' },
        },
      },
    },

    // ===========================================================================================================
    // STOP: abandon the step in flight (its pushed rollouts are dropped as `aborted`, its buffer additions are left
    // out of the checkpoint, so a resume re-runs it from its start), checkpoint the last completed step, finish.
    stopping: {
      entry: [
        say(report.aborted),
        { type: 'handOver', params: ({ context }) => abandoned(context) },
        ask('learner', () => ({ type: 'abandonStep' }) satisfies LearnerRequest),
        assign({ stopRequested: true, reason: 'interrupted', pushed: [], work: EMPTY_WORK }),
      ],
      initial: 'snapshot',
      states: checkpointStates(false),
      onDone: 'finished',
    },

    finished: { type: 'final' },
  },
  output: ({ context }) => ({ reason: context.reason, steps: context.completed }),
});
