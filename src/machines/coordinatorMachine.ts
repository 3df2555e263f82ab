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
// This file sequences; what the states compute lives beside it in ./coordinator/: the requests to the actors
// (requests.ts), the run events (reports.ts), health (health.ts), novelty (novelty.ts), checkpoint data
// (checkpoint.ts), the context and the actors' inputs (context.ts, inputs.ts); rewards per phase are ./phases.ts'.

import { and, assign, enqueueActions, fromPromise, setup } from 'xstate';
import { eventBody, type Phase } from '../streams/events.js';
import { bufferMachine, type BufferRequest } from './bufferMachine.js';
import type { CheckpointData, ProbeResult } from './effects.js';
import { executorMachine } from './executorMachine.js';
import { learnerMachine, type LearnerRequest } from './learnerMachine.js';
import {
  addStats,
  EMPTY_STATS,
  EMPTY_WORK,
  mcSuccesses,
  rewardProposals,
  rewardSolutions,
  validateItems,
  validProposals,
  type Push,
} from './phases.js';
import { errorMessage } from './protocol.js';
import { proposerMachine } from './proposerMachine.js';
import { solverMachine } from './solverMachine.js';
import { checkpointData } from './coordinator/checkpoint.js';
import { bufferInput, executorInput, learnerInput, policyInput } from './coordinator/inputs.js';
import {
  currentType,
  dueEvery,
  initialContext,
  nextSeedType,
  nextType,
  switchPhase,
  type CoordinatorContext,
  type CoordinatorEvent,
  type CoordinatorInput,
  type CoordinatorOutput,
} from './coordinator/context.js';
import { healthBody, programWindow } from './coordinator/health.js';
import { proposalNovelty, slideNovelty } from './coordinator/novelty.js';
import {
  abortedBodies,
  advantageBodies,
  batchFailureBody,
  checkFailures,
  checkpointSavedBody,
  errorBody,
  learnedBodies,
  policyFailures,
  probeBody,
  say,
  seedingDoneBodies,
  validationFailures,
} from './coordinator/reports.js';
import {
  appendRequest,
  drawSolverTasksRequest,
  gradeRequest,
  learnabilityRequest,
  proposeRequest,
  seedAppendRequest,
  solveRequest,
  validateRequest,
  verifyRequest,
} from './coordinator/requests.js';
import { pushedIds, releaseUnpushed } from './coordinator/rollouts.js';

export {
  ACTOR_NAMES,
  type ActorName,
  type CoordinatorContext,
  type CoordinatorEvent,
  type CoordinatorInput,
  type CoordinatorOutput,
  type EventSink,
} from './coordinator/context.js';

/** What the coordinator does with the learner's reply to `learn`, wherever it waits for it. */
const LEARNED = ['reportLearned', 'storeLearned'] as const;

/**
 * The `deciding` and `awaitUpdate` substates of the probe and checkpoint phases: when `due`, on to `then` — async,
 * once the update in flight has landed (the probe measures it; the checkpoint holds it) — else straight to `done`.
 */
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

/**
 * The coordinator: runs the five actors (invoked for its whole life, with system ids `buffer`, `proposer`,
 * `solver`, `executor`, `learner`) through seeding and the AZR steps by request and reply. Effects are the
 * actors' (see withEffects.ts); `probe` and `checkpoint` are its own (absent: skipped). Both modes (see the header for async).
 */
const coordinator = setup({
  types: {
    context: {} as CoordinatorContext,
    input: {} as CoordinatorInput,
    events: {} as CoordinatorEvent,
    output: {} as CoordinatorOutput,
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
    /** Emits `queue.depth` for the queues between actors (provided with the channel by withEffects). */
    reportQueues: () => {},
    enterStep: ({ context }) => context.events.setStep?.(context.step),
    /** A training step enters phase `name` (outside training, e.g. seeding, nothing is timed). */
    phase: assign(({ context: c }, name: Phase) => (c.phase === null ? {} : switchPhase(c, c.clock(), name))),
    push: (_, params: { pushes: readonly Push[] }) => {
      for (const p of params.pushes) p.slot.push(p.rollout);
    },
    release: (_, params: { items: readonly { id: string; slot?: { release(): void } }[]; pushes: readonly Push[] }) =>
      releaseUnpushed(params.items, params.pushes),
    clearWork: assign({ work: EMPTY_WORK }),
    reportPolicyFailures: ({ context, event }) => {
      if (event.type === 'proposer.proposed' && event.ok) say(context, ...policyFailures(event.proposals));
      if (event.type === 'solver.solved' && event.ok) say(context, ...policyFailures(event.answers));
    },
    /** A whole batch failed after its retries: one `error` event; the step goes on without that batch. */
    reportBatchFailure: ({ context: c, event }) => {
      if ('ok' in event && !event.ok) say(c, batchFailureBody(c, event));
    },
    /** A new proposer batch starts the type's work afresh. */
    storeProposals: assign({
      work: ({ context, event }) =>
        event.type === 'proposer.proposed'
          ? { ...EMPTY_WORK, proposals: event.ok ? event.proposals : [] }
          : context.work,
    }),
    storeValidations: assign({
      work: ({ context, event }) =>
        event.type === 'executor.validated' && event.ok
          ? { ...context.work, validations: Object.fromEntries(event.results.map((r) => [r.id, r])) }
          : context.work,
    }),
    reportValidationFailures: ({ context: c, event }) => {
      if (event.type === 'executor.validated' && event.ok) say(c, ...validationFailures(event.results, currentType(c)));
    },
    /** The learner's reply to `learn`: `learner.step`, or an error. */
    reportLearned: ({ context: c, event }) => {
      if (event.type === 'learner.learned') say(c, ...learnedBodies(c, event));
    },
    /** …and the step it was for counts as completed. */
    storeLearned: assign(({ context: c, event }) => ({
      completed: c.learning ?? c.step,
      learning: null,
      policyVersion: event.type === 'learner.learned' && event.ok ? event.result.policyVersion : c.policyVersion,
    })),
    reportCheckFailures: ({ context: c, event }) => {
      if (event.type === 'executor.checked' && event.ok) say(c, ...checkFailures(event.results, currentType(c)));
    },
  },
  guards: {
    resumeTraining: ({ context }) => context.resume !== null && context.resume.seeded,
    stopRequested: ({ context }) => context.stopRequested,
    allStepsDone: ({ context }) => context.step >= context.config.steps,
    isAsync: ({ context }) => context.config.mode === 'async',
    learnPending: ({ context }) => context.learning !== null,
    moreTypes: ({ context }) => nextType(context) !== null,
    nothingToValidate: ({ context }) => validateItems(context.work).length === 0,
    nothingValid: ({ context }) => validProposals(context.work).length === 0,
    seedTypeLeft: ({ context }) => nextSeedType(context) !== null,
    probeDue: ({ context }) => !context.stopRequested && dueEvery(context.step, context.config.probeEvery),
    checkpointDue: ({ context }) =>
      context.stopRequested ||
      dueEvery(context.step, context.config.checkpointEvery) ||
      context.step >= context.config.steps,
    batchOk: ({ event }) => 'ok' in event && event.ok,
  },
});

/**
 * The substates that write a checkpoint — snapshot the buffers, write, done — shared by training's checkpoint phase
 * (`timed`: the phase is timed) and stopping.
 */
function checkpointStates(timed: boolean) {
  return {
    snapshot: coordinator.createStateConfig({
      entry: [
        ...(timed ? [{ type: 'phase', params: 'checkpoint' } as const] : []),
        enqueueActions(({ self, enqueue }) =>
          enqueue.sendTo('buffer', { type: 'snapshot', replyTo: self } satisfies BufferRequest),
        ),
      ],
      on: {
        'buffer.snapshot': { target: 'writing', actions: assign({ bufferSnapshot: ({ event }) => event.buffers }) },
      },
    }),
    writing: coordinator.createStateConfig({
      invoke: {
        src: 'checkpoint',
        input: ({ context, self }) => checkpointData(context, self),
        onDone: {
          target: 'done',
          actions: [
            ({ context: c, event }) => event.output && say(c, checkpointSavedBody(c, event.output)),
            assign({ bufferSnapshot: null }),
          ],
        },
        onError: {
          target: 'done',
          actions: [
            ({ context, event }) =>
              say(context, errorBody('checkpoint', 'checkpointFailed', errorMessage(event.error))),
            assign({ bufferSnapshot: null }),
          ],
        },
      },
    }),
    done: { type: 'final' },
  } as const;
}

export const coordinatorMachine = coordinator.createMachine({
  id: 'coordinator',
  context: ({ input }) => initialContext(input),
  invoke: [
    { id: 'buffer', systemId: 'buffer', src: 'buffer', input: ({ context }) => bufferInput(context) },
    { id: 'proposer', systemId: 'proposer', src: 'proposer', input: ({ context }) => policyInput(context, 'proposer') },
    { id: 'solver', systemId: 'solver', src: 'solver', input: ({ context }) => policyInput(context, 'solver') },
    { id: 'executor', systemId: 'executor', src: 'executor', input: ({ context }) => executorInput(context) },
    { id: 'learner', systemId: 'learner', src: 'learner', input: ({ context }) => learnerInput(context) },
  ],
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'resumeTraining', target: 'training' }, { target: 'seeding' }],
    },

    // ===========================================================================================================
    // Seeding (paper §5.1): propose with the growing buffers as references, keep the valid tasks (deduplicated),
    // no learnability filter, no learning. Triplets go into both the deduction and the abduction buffer.
    seeding: {
      on: { STOP: '#coordinator.stopping' },
      initial: 'next',
      states: {
        next: {
          // A round starts here: everything logged so far belongs to finished rounds (see CheckpointData.seeding).
          entry: assign({ seedMark: ({ context }) => context.events.nextSeq ?? null }),
          always: [
            {
              guard: 'seedTypeLeft',
              target: 'propose',
              actions: assign(({ context }) => {
                const t = nextSeedType(context)!;
                return {
                  taskType: t,
                  seedRounds: { ...context.seedRounds, [t]: context.seedRounds[t] + 1 },
                  work: EMPTY_WORK,
                };
              }),
            },
            { target: 'done' },
          ],
        },
        propose: {
          entry: enqueueActions(({ context, self, enqueue }) =>
            enqueue.sendTo('proposer', proposeRequest(context, self)),
          ),
          on: {
            'proposer.proposed': [
              {
                guard: 'batchOk',
                target: 'validate',
                actions: ['storeProposals', 'reportPolicyFailures'],
              },
              { target: 'next', actions: 'reportBatchFailure' },
            ],
          },
        },
        validate: {
          always: { guard: 'nothingToValidate', target: 'next' },
          entry: enqueueActions(({ context, self, enqueue }) => {
            const request = validateRequest(context, self);
            if (request) enqueue.sendTo('executor', request);
          }),
          on: {
            'executor.validated': [
              { guard: 'batchOk', target: 'append', actions: ['storeValidations', 'reportValidationFailures'] },
              { target: 'next', actions: 'reportBatchFailure' },
            ],
          },
        },
        append: {
          entry: enqueueActions(({ context: c, self, enqueue }) => {
            const { events } = rewardProposals(0, c.work, { unlearnable: c.config.unlearnable });
            enqueue(() => say(c, ...events));
            enqueue.sendTo('buffer', seedAppendRequest(c, self));
          }),
          on: { 'buffer.appended': { target: 'next', actions: assign({ sizes: ({ event }) => event.sizes }) } },
        },
        done: {
          type: 'final',
          entry: [
            ({ context: c }) => say(c, ...seedingDoneBodies(c)),
            assign({ seeded: true, taskType: null, work: EMPTY_WORK }),
          ],
        },
      },
      onDone: 'baseProbe',
    },

    // ===========================================================================================================
    // The base model's probe accuracy, before any self-play step: what every later probe is compared with.
    // A stop waits for it: a resume goes straight to training, so an abandoned base probe would never be logged.
    baseProbe: {
      on: { STOP: { actions: assign({ stopRequested: true }) } },
      invoke: {
        src: 'probe',
        input: ({ context }) => ({ step: 0, policyVersion: context.policyVersion }),
        onDone: {
          target: 'afterBaseProbe',
          actions: ({ context, event }) => event.output && say(context, probeBody(context, event.output)),
        },
        onError: {
          target: 'afterBaseProbe',
          actions: ({ context, event }) => say(context, errorBody('probe', 'probeFailed', errorMessage(event.error))),
        },
      },
    },
    afterBaseProbe: {
      always: [{ guard: 'stopRequested', target: 'stopping' }, { target: 'training' }],
    },

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
          entry: [
            assign(({ context: c }) => {
              const now = c.clock();
              return {
                step: c.step + 1,
                taskType: c.config.taskTypes[0]!,
                work: EMPTY_WORK,
                pushed: [],
                stats: EMPTY_STATS,
                stepNovelty: [],
                stepStartedAt: now,
                phase: { name: 'buffer', since: now } as const,
                phaseMs: {},
              };
            }),
            'enterStep',
          ],
          on: {
            // Async: finish the step in flight (a stop then checkpoints it, after the update in flight lands).
            STOP: [{ guard: 'isAsync', actions: assign({ stopRequested: true }) }, { target: '#coordinator.stopping' }],
            // Async: the previous step's update lands while this step is produced.
            'learner.learned': { actions: LEARNED },
          },
          initial: 'drawSolverTasks',
          states: {
            /** The step's solver tasks come from the buffers as they stand at its start (paper §5.4). */
            drawSolverTasks: {
              entry: enqueueActions(({ context, self, enqueue }) =>
                enqueue.sendTo('buffer', drawSolverTasksRequest(context, self)),
              ),
              on: {
                'buffer.solverTasks': {
                  target: 'propose',
                  actions: assign({ solverTasks: ({ event }) => event.tasks }),
                },
              },
            },

            // ---- the proposer's half of task type T -------------------------------------------------------------
            propose: {
              entry: [
                { type: 'phase', params: 'propose' },
                enqueueActions(({ context, self, enqueue }) =>
                  enqueue.sendTo('proposer', proposeRequest(context, self)),
                ),
              ],
              on: {
                'proposer.proposed': [
                  {
                    guard: 'batchOk',
                    target: 'validate',
                    actions: ['storeProposals', 'reportPolicyFailures'],
                  },
                  { target: 'solve', actions: 'reportBatchFailure' },
                ],
              },
            },
            /** Parses, no banned capability, runs within limits, deterministic: one executor batch. */
            validate: {
              always: { guard: 'nothingToValidate', target: 'learnability' },
              entry: [
                { type: 'phase', params: 'validate' },
                enqueueActions(({ context, self, enqueue }) => {
                  const request = validateRequest(context, self);
                  if (request) enqueue.sendTo('executor', request);
                }),
              ],
              on: {
                'executor.validated': [
                  {
                    guard: 'batchOk',
                    target: 'learnability',
                    actions: ['storeValidations', 'reportValidationFailures'],
                  },
                  // Unjudged proposals are dropped (not trained, not buffered); ill-formed ones still earn −1.
                  { target: 'learnability', actions: 'reportBatchFailure' },
                ],
              },
            },
            /** n solver samples per valid proposal at the training temperature, graded; never trained on. */
            learnability: {
              initial: 'sample',
              states: {
                sample: {
                  always: { guard: 'nothingValid', target: 'done' },
                  entry: [
                    { type: 'phase', params: 'learnability' },
                    enqueueActions(({ context, self, enqueue }) => {
                      const request = learnabilityRequest(context, self);
                      if (request) enqueue.sendTo('solver', request);
                    }),
                  ],
                  on: {
                    'solver.solved': [
                      {
                        guard: 'batchOk',
                        target: 'grade',
                        actions: assign({
                          work: ({ context, event }) => ({ ...context.work, mcAnswers: event.ok ? event.answers : [] }),
                        }),
                      },
                      // No estimate: the valid proposals are buffered but not trained on.
                      { target: 'done', actions: 'reportBatchFailure' },
                    ],
                  },
                },
                grade: {
                  entry: [
                    { type: 'phase', params: 'learnabilityVerify' },
                    enqueueActions(({ context, self, enqueue }) =>
                      enqueue.sendTo('executor', gradeRequest(context, self)),
                    ),
                  ],
                  on: {
                    'executor.checked': [
                      {
                        guard: 'batchOk',
                        target: 'done',
                        actions: [
                          assign({
                            work: ({ context: c, event }) => {
                              const checks = Object.fromEntries((event.ok ? event.results : []).map((r) => [r.id, r]));
                              return { ...c.work, mc: mcSuccesses(c.work, c.work.mcAnswers, checks) };
                            },
                          }),
                          'reportCheckFailures',
                        ],
                      },
                      { target: 'done', actions: 'reportBatchFailure' },
                    ],
                  },
                },
                done: { type: 'final' },
              },
              onDone: 'rewardProposals',
            },
            /** r_propose: −1 invalid, else 1 − r̄ when 0 < r̄ < 1, else 0 (src/azr learnabilityReward); to the learner. */
            rewardProposals: {
              entry: enqueueActions(({ context: c, enqueue }) => {
                const { bonus, stepNovelty } = proposalNovelty(c);
                const r = rewardProposals(c.step, c.work, {
                  unlearnable: c.config.unlearnable,
                  ...(bonus ? { bonus } : {}),
                });
                enqueue(() => say(c, ...r.events));
                enqueue({ type: 'push', params: { pushes: r.pushes } });
                enqueue({ type: 'release', params: { items: c.work.proposals, pushes: r.pushes } });
                enqueue.assign({
                  stats: addStats(c.stats, r.stats, r.programs),
                  pushed: [...c.pushed, ...pushedIds(r.pushes)],
                  stepNovelty,
                  // Every slot is now used (pushed or released): the proposals keep none.
                  work: { ...c.work, proposals: c.work.proposals.map(({ slot: _slot, ...p }) => p) },
                });
              }),
              always: 'appendToBuffer',
            },
            /** Every valid proposal (buffer.admit: learnable — those with 0 < p̂ < 1) joins its type's buffer, tagged with this step (first solved in step t + 1). */
            appendToBuffer: {
              entry: [
                { type: 'phase', params: 'buffer' },
                enqueueActions(({ context, self, enqueue }) => enqueue.sendTo('buffer', appendRequest(context, self))),
              ],
              on: {
                'buffer.appended': {
                  target: 'solve',
                  actions: assign({
                    sizes: ({ event }) => event.sizes,
                    stats: ({ context, event }) => ({
                      ...context.stats,
                      capped: context.stats.capped + event.results.reduce((n, r) => n + r.capped, 0),
                    }),
                  }),
                },
              },
            },

            // ---- the solver's half of task type T ---------------------------------------------------------------
            solve: {
              entry: [
                { type: 'phase', params: 'solve' },
                enqueueActions(({ context, self, enqueue }) => enqueue.sendTo('solver', solveRequest(context, self))),
              ],
              on: {
                'solver.solved': [
                  {
                    guard: 'batchOk',
                    target: 'verify',
                    actions: [
                      assign({
                        work: ({ context, event }) => ({ ...context.work, answers: event.ok ? event.answers : [] }),
                      }),
                      'reportPolicyFailures',
                    ],
                  },
                  { target: 'rewardSolutions', actions: 'reportBatchFailure' },
                ],
              },
            },
            /** Each well-formed answer run against its task in the sandbox (abduction: any input giving o passes). */
            verify: {
              entry: [
                { type: 'phase', params: 'verify' },
                enqueueActions(({ context, self, enqueue }) =>
                  enqueue.sendTo('executor', verifyRequest(context, self)),
                ),
              ],
              on: {
                'executor.checked': [
                  {
                    guard: 'batchOk',
                    target: 'rewardSolutions',
                    actions: [
                      assign({
                        work: ({ context, event }) => ({
                          ...context.work,
                          checks: Object.fromEntries((event.ok ? event.results : []).map((r) => [r.id, r])),
                        }),
                      }),
                      'reportCheckFailures',
                    ],
                  },
                  { target: 'rewardSolutions', actions: 'reportBatchFailure' },
                ],
              },
            },
            /** r_solve: −1 format error, −0.5 wrong, else accuracy (src/azr solverReward); to the learner. */
            rewardSolutions: {
              entry: enqueueActions(({ context: c, enqueue }) => {
                const pushes = rewardSolutions(c.step, c.work, { induction: c.config.inductionAccuracy });
                enqueue({ type: 'push', params: { pushes } });
                enqueue({ type: 'release', params: { items: c.work.answers, pushes } });
                enqueue.assign({ pushed: [...c.pushed, ...pushedIds(pushes)] });
              }),
              always: [
                {
                  guard: 'moreTypes',
                  target: 'propose',
                  actions: [assign({ taskType: ({ context }) => nextType(context) }), 'clearWork'],
                },
                { target: 'advantages', actions: 'clearWork' },
              ],
            },

            // ---- the update ------------------------------------------------------------------------------------
            /** TRR++ in the learner: each (role × type) batch normalised separately; one rollout.scored each. */
            advantages: {
              entry: [
                { type: 'phase', params: 'advantages' },
                enqueueActions(({ context: c, self, enqueue }) =>
                  enqueue.sendTo('learner', {
                    type: 'endStep',
                    step: c.step,
                    expected: c.pushed.length,
                    replyTo: self,
                  } satisfies LearnerRequest),
                ),
              ],
              on: {
                'learner.advantages': {
                  target: 'learn',
                  actions: enqueueActions(({ context: c, event, enqueue }) => {
                    const bodies = [
                      ...advantageBodies(event),
                      healthBody(c, event),
                      eventBody('buffer.sizes', { sizes: c.sizes }),
                    ];
                    enqueue(() => say(c, ...bodies));
                    enqueue.assign({
                      pushed: [], // handed over with the batch
                      recentPrograms: programWindow(c),
                      noveltyHistory: slideNovelty(c),
                      stepNovelty: [],
                    });
                  }),
                },
              },
            },
            /** One optimizer step over all six batches; the new weights are published for the next rollouts. */
            learn: {
              entry: [
                { type: 'phase', params: 'learn' },
                enqueueActions(({ self, enqueue }) =>
                  enqueue.sendTo('learner', { type: 'learn', replyTo: self } satisfies LearnerRequest),
                ),
                assign({ learning: ({ context }) => context.step }),
              ],
              // Async: on to the next step while the learner learns this one.
              always: { guard: 'isAsync', target: 'probe' },
              on: {
                // Finish the step's update before stopping: the checkpoint then holds a consistent learner.
                STOP: { actions: assign({ stopRequested: true }) },
                'learner.learned': { target: 'probe', actions: LEARNED },
              },
            },
            probe: {
              on: { STOP: { actions: assign({ stopRequested: true }) } },
              initial: 'deciding',
              states: {
                ...whenDue('probeDue', 'evaluating'),
                evaluating: {
                  entry: { type: 'phase', params: 'probe' },
                  invoke: {
                    src: 'probe',
                    input: ({ context }) => ({ step: context.step, policyVersion: context.policyVersion }),
                    onDone: {
                      target: 'done',
                      actions: ({ context, event }) => event.output && say(context, probeBody(context, event.output)),
                    },
                    onError: {
                      target: 'done',
                      actions: ({ context, event }) =>
                        say(context, errorBody('probe', 'probeFailed', errorMessage(event.error))),
                    },
                  },
                },
                done: { type: 'final' },
              },
              onDone: 'checkpoint',
            },
            checkpoint: {
              on: { STOP: { actions: assign({ stopRequested: true }) } },
              initial: 'deciding',
              states: {
                ...whenDue('checkpointDue', 'snapshot'),
                ...checkpointStates(true),
              },
              onDone: 'done',
            },
            done: { type: 'final' },
          },
          onDone: {
            target: 'next',
            actions: [
              // the phases close when the step does, so they add up to its duration
              enqueueActions(({ context: c, enqueue }) => {
                const now = c.clock();
                const closed = switchPhase(c, now, null);
                enqueue.assign(closed);
                enqueue(() =>
                  say(
                    c,
                    eventBody('step.finished', {
                      durationMs: Math.max(0, now - c.stepStartedAt),
                      phases: closed.phaseMs,
                    }),
                  ),
                );
              }),
              'reportQueues',
            ],
          },
        },
      },
    },

    // ===========================================================================================================
    // STOP: abandon the step in flight (its pushed rollouts are dropped as `aborted`, its buffer additions are left
    // out of the checkpoint, so a resume re-runs it from its start), checkpoint the last completed step, finish.
    stopping: {
      entry: [
        ({ context: c }) => say(c, ...abortedBodies(c)),
        {
          type: 'release',
          params: ({ context: c }) => ({ items: [...c.work.proposals, ...c.work.answers], pushes: [] }),
        },
        enqueueActions(({ enqueue }) => enqueue.sendTo('learner', { type: 'abandonStep' } satisfies LearnerRequest)),
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
