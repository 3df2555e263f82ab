// The rewards of a task type's half-step (src/azr's, through ./phases.ts) as the coordinator applies them: the
// rollouts to push to the learner, the events, and what the context keeps.

import type { RunEventBody } from '../../streams/events.js';
import { addStats, rewardProposals, rewardSolutions, type Push } from '../phases.js';
import type { CoordinatorContext } from './context.js';
import { proposalNovelty } from './novelty.js';
import { pushedIds } from './rollouts.js';

/** What a reward phase hands on: the rollouts to push, the items whose slots are released if not pushed. */
export interface Rewarded {
  readonly bodies: readonly RunEventBody[];
  readonly pushes: readonly Push[];
  readonly items: readonly { id: string; slot?: { release(): void } }[];
  readonly context: Partial<CoordinatorContext>;
}

/** Seeding: the events of the round's proposals (nothing is trained). */
export function seedProposals({ context: c }: { context: CoordinatorContext }): RunEventBody[] {
  return rewardProposals(0, c.work, { unlearnable: c.config.unlearnable }).events;
}

/** r_propose (with the novelty bonus when on) for the type's proposals. */
export function proposalRewards(c: CoordinatorContext): Rewarded {
  const { bonus, stepNovelty } = proposalNovelty(c);
  const r = rewardProposals(c.step, c.work, { unlearnable: c.config.unlearnable, ...(bonus ? { bonus } : {}) });
  return {
    bodies: r.events,
    pushes: r.pushes,
    items: c.work.proposals,
    context: {
      stats: addStats(c.stats, r.stats, r.programs),
      pushed: [...c.pushed, ...pushedIds(r.pushes)],
      stepNovelty,
      // Every slot is now used (pushed or released): the proposals keep none.
      work: { ...c.work, proposals: c.work.proposals.map(({ slot: _slot, ...p }) => p) },
    },
  };
}

/** r_solve for the type's answers. */
export function solutionRewards(c: CoordinatorContext): Rewarded {
  const pushes = rewardSolutions(c.step, c.work, { induction: c.config.inductionAccuracy });
  return { bodies: [], pushes, items: c.work.answers, context: { pushed: [...c.pushed, ...pushedIds(pushes)] } };
}
