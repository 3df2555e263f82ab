// The requests the coordinator sends its actors, built from its context.

import type { AnyActorRef } from 'xstate';
import { solverView, type TaskOf, type TaskType } from '../../azr/index.js';
import type { DrawnTask } from '../bufferMachine.js';
import type { ExecutorRequest } from '../executorMachine.js';
import { validateItems } from '../phases.js';
import type { ProposerRequest } from '../proposerMachine.js';
import { currentType, type CoordinatorContext } from './context.js';

export function solverViewOf(type: TaskType, d: DrawnTask) {
  return solverView(type, d.task as TaskOf<typeof type>);
}

/** The proposer batch for the current task type: seeding (step 0, no learner credit) or training (step t). */
export function proposeRequest(c: CoordinatorContext, self: AnyActorRef): ProposerRequest {
  const type = c.seeded ? currentType(c) : c.seedType!;
  const common = { type: 'propose', taskType: type, count: c.config.batch.propose[type], replyTo: self } as const;
  return c.seeded
    ? { ...common, step: c.step, purpose: 'train', reserve: c.config.trainProposer, key: `${c.step}/propose/${type}` }
    : { ...common, step: 0, purpose: 'seed', reserve: false, key: `seed${c.seedRounds[type]}/propose/${type}` };
}

/** The executor batch that validates the proposals that parsed, or null when none did. */
export function validateRequest(c: CoordinatorContext, self: AnyActorRef): ExecutorRequest | null {
  const items = validateItems(c.work);
  if (items.length === 0) return null;
  const type = c.seeded ? currentType(c) : c.seedType!;
  const prefix = c.seeded ? String(c.step) : `seed${c.seedRounds[type]}`;
  return { type: 'validate', items, key: `${prefix}/validate/${type}`, replyTo: self };
}
