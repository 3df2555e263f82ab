// The requests the coordinator sends its actors, built from its context.

import type { AnyActorRef } from 'xstate';
import { solverView, type TaskOf, type TaskType } from '../../azr/index.js';
import type { BufferRequest, DrawnTask } from '../bufferMachine.js';
import type { ExecutorRequest } from '../executorMachine.js';
import type { LearnerRequest } from '../learnerMachine.js';
import {
  admittedProposals,
  checkRequests,
  learnabilityItems,
  mcTaskOf,
  validateItems,
  validProposals,
} from '../phases.js';
import type { ProposerRequest } from '../proposerMachine.js';
import type { SolverRequest } from '../solverMachine.js';
import { currentType, type CoordinatorContext } from './context.js';

function solverViewOf(type: TaskType, d: DrawnTask) {
  return solverView(type, d.task as TaskOf<typeof type>);
}

/** The proposer batch for the current task type: seeding (step 0, no learner credit) or training (step t). */
export function proposeRequest(c: CoordinatorContext, self: AnyActorRef): ProposerRequest {
  const type = currentType(c);
  const common = { type: 'propose', taskType: type, count: c.config.batch.propose[type], replyTo: self } as const;
  return c.seeded
    ? { ...common, step: c.step, purpose: 'train', reserve: c.config.trainProposer, key: `${c.step}/propose/${type}` }
    : { ...common, step: 0, purpose: 'seed', reserve: false, key: `seed${c.seedRounds[type]}/propose/${type}` };
}

/** The executor batch that validates the proposals that parsed, or null when none did. */
export function validateRequest(c: CoordinatorContext, self: AnyActorRef): ExecutorRequest | null {
  const items = validateItems(c.work);
  if (items.length === 0) return null;
  const type = currentType(c);
  const prefix = c.seeded ? String(c.step) : `seed${c.seedRounds[type]}`;
  return { type: 'validate', items, key: `${prefix}/validate/${type}`, replyTo: self };
}

/** The buffer request that draws the step's solver tasks (paper §5.4). */
export function drawSolverTasksRequest(c: CoordinatorContext, self: AnyActorRef): BufferRequest {
  const counts = Object.fromEntries(c.config.taskTypes.map((t) => [t, c.config.batch.solve[t]]));
  return { type: 'drawSolverTasks', step: c.step, counts, key: String(c.step), replyTo: self };
}

/** Seeding: the round's valid tasks into their buffers (a triplet into both deduction and abduction). */
export function seedAppendRequest(c: CoordinatorContext, self: AnyActorRef): BufferRequest {
  const tasks = validProposals(c.work).map((v) => v.task);
  const targets: TaskType[] = currentType(c) === 'induction' ? ['induction'] : ['deduction', 'abduction'];
  return {
    type: 'append',
    entries: targets.map((taskType) => ({ taskType, tasks })),
    step: 0,
    dedup: true,
    replyTo: self,
  };
}

/** Training: the admitted proposals of the current type into its buffer, tagged with this step. */
export function appendRequest(c: CoordinatorContext, self: AnyActorRef): BufferRequest {
  return {
    type: 'append',
    entries: [{ taskType: currentType(c), tasks: admittedProposals(c.work, c.config.buffer.admit).map((v) => v.task) }],
    step: c.step,
    replyTo: self,
  };
}

/** The learnability estimate's solver batch (n samples per valid proposal), or null when there is nothing to solve. */
export function learnabilityRequest(c: CoordinatorContext, self: AnyActorRef): SolverRequest | null {
  const t = currentType(c);
  const items = learnabilityItems(t, c.work);
  if (items.length === 0) return null;
  return {
    type: 'solve',
    items,
    samples: c.config.learnabilitySamples,
    purpose: 'learnability',
    reserve: false,
    step: c.step,
    key: `${c.step}/mc/${t}`,
    replyTo: self,
  };
}

/** The executor batch that grades the learnability samples. */
export function gradeRequest(c: CoordinatorContext, self: AnyActorRef): ExecutorRequest {
  return {
    type: 'check',
    items: checkRequests(c.work.mcAnswers, mcTaskOf(c.work)),
    key: `${c.step}/mc/${currentType(c)}`,
    replyTo: self,
  };
}

/** The solver batch over the step's drawn tasks of the current type; item ids end in the task's index. */
export function solveRequest(c: CoordinatorContext, self: AnyActorRef): SolverRequest {
  const t = currentType(c);
  const drawn = c.solverTasks[t] ?? [];
  return {
    type: 'solve',
    items: drawn.map((d, i) => ({ id: solveItemId(c.step, t, i), type: t, view: solverViewOf(t, d) })),
    samples: c.config.solveSamples,
    purpose: 'train',
    reserve: true,
    step: c.step,
    key: `${c.step}/solve/${t}`,
    replyTo: self,
  };
}

/** The id of the solve item for the step's i-th drawn task of type t. */
function solveItemId(step: number, t: TaskType, i: number): string {
  return `${step}/solve/${t}/${i}`;
}

/** The drawn task of each solve item of the current type, by item id (see solveRequest). */
function drawnTaskOf(c: CoordinatorContext): (itemId: string) => DrawnTask['task'] {
  const t = currentType(c);
  const tasks = new Map((c.solverTasks[t] ?? []).map((d, i) => [solveItemId(c.step, t, i), d.task]));
  return (itemId) => tasks.get(itemId)!;
}

/** The executor batch that verifies the answers against their drawn tasks. */
export function verifyRequest(c: CoordinatorContext, self: AnyActorRef): ExecutorRequest {
  const t = currentType(c);
  return {
    type: 'check',
    items: checkRequests(c.work.answers, drawnTaskOf(c)),
    key: `${c.step}/verify/${t}`,
    replyTo: self,
  };
}

/** The step's rollouts are all pushed: the learner forms its batch once it holds them (TRR++ advantages). */
export function endStepRequest(c: CoordinatorContext, self: AnyActorRef): LearnerRequest {
  return { type: 'endStep', step: c.step, expected: c.pushed.length, replyTo: self };
}

export function learnRequest(_c: CoordinatorContext, self: AnyActorRef): LearnerRequest {
  return { type: 'learn', replyTo: self };
}

/** The buffers' snapshot for a checkpoint. */
export function snapshotRequest(_c: CoordinatorContext, self: AnyActorRef): BufferRequest {
  return { type: 'snapshot', replyTo: self };
}
