// The step's health: shares of its proposals, estimates and advantage groups, over the last healthWindow steps.

import { eventBody, type RunEventBody } from '../../streams/events.js';
import type { LearnerReply } from '../learnerMachine.js';
import type { TaskType } from '../../azr/index.js';
import type { ScoredRollout } from '../effects.js';
import { share } from '../phases.js';
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

/** Per task type, how much the solver rollouts reasoned: trace share and mean trace length (null: no rollouts). */
function reasoningHealth(
  samples: readonly ScoredRollout[],
): Record<TaskType, { share: number; meanLexemes: number } | null> {
  const of = (type: TaskType) => {
    const xs = samples.filter((x) => x.role === 'solve' && x.type === type && x.reasoning !== undefined);
    if (xs.length === 0) return null;
    const traced = xs.filter((x) => x.reasoning!.lexemes > 0).length;
    return { share: traced / xs.length, meanLexemes: xs.reduce((n, x) => n + x.reasoning!.lexemes, 0) / xs.length };
  };
  return { deduction: of('deduction'), abduction: of('abduction'), induction: of('induction') };
}
