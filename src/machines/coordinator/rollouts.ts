// The rollouts of a step: those pushed to the learner, and the slots of those that are not.

import type { Push } from '../phases.js';
import type { CoordinatorContext } from './context.js';

/** Releases the slots of every rollout of the work that is not being pushed. */
function releaseUnpushed(items: readonly { id: string; slot?: { release(): void } }[], pushes: readonly Push[]): void {
  const pushed = new Set(pushes.map((p) => p.rollout.id));
  for (const it of items) if (it.slot && !pushed.has(it.id)) it.slot.release();
}
export function pushedIds(pushes: readonly Push[]): CoordinatorContext['pushed'] {
  return pushes.map(({ rollout: x }) => ({ id: x.id, role: x.role, type: x.type, policyVersion: x.policyVersion }));
}

/** Pushes each rollout through its slot to the learner, and releases the slots of the items not pushed. */
export function handOver(pushes: readonly Push[], items: readonly { id: string; slot?: { release(): void } }[]): void {
  for (const p of pushes) p.slot.push(p.rollout);
  releaseUnpushed(items, pushes);
}

/** A stop abandons the type's work in flight: nothing of it is pushed, every slot it holds is released. */
export function abandoned(c: CoordinatorContext): {
  pushes: readonly Push[];
  items: readonly { id: string; slot?: { release(): void } }[];
} {
  return { items: [...c.work.proposals, ...c.work.answers], pushes: [] };
}
