// The step's health: shares of its proposals, estimates and advantage groups, over the last healthWindow steps.

import { eventBody, type RunEventBody } from '../../streams/events.js';
import type { LearnerReply } from '../learnerMachine.js';
import { reasoningHealth, share } from '../phases.js';
import type { CoordinatorContext } from './context.js';

export type Advantages = Extract<LearnerReply, { type: 'learner.advantages' }>;

/** Proposed programs of the last healthWindow steps, this one's last. */
export function programWindow(c: CoordinatorContext): CoordinatorContext['recentPrograms'] {
  return [...c.recentPrograms, c.stats.programs].slice(-c.config.healthWindow);
}

/** The `health` event of the step whose advantages the learner has computed. */
export function healthBody(c: CoordinatorContext, event: Advantages): RunEventBody {
  const s = c.stats;
  return eventBody('health', {
    validShare: share(s.valid, s.proposals),
    learnableShare: share(s.learnable, s.estimated),
    zeroAdvantageShare: share(event.groups.filter((g) => g.zero).length, event.groups.length),
    distinctPrograms: new Set(programWindow(c).flat()).size,
    inputIgnoringShare: share(s.inputIgnoring, s.inputKnown),
    meanLearnability: share(s.learnabilitySum, s.estimated),
    reasoning: reasoningHealth(event.samples),
    ...(c.config.buffer.maxProgramShare !== null ? { programCapped: s.capped } : {}),
  });
}
