// Novelty (off by default, and then not computed): a bonus by how often each valid program was proposed recently.

import { noveltyBonuses, noveltyKey, slideNoveltyWindow } from '../../azr/index.js';
import { validProposals } from '../phases.js';
import type { CoordinatorContext } from './context.js';

/**
 * The novelty bonus per valid proposal id of the type's work (undefined when novelty is off), and the step's novelty
 * keys with this batch's added.
 */
export function proposalNovelty(c: CoordinatorContext): {
  readonly bonus: Map<string, number> | undefined;
  readonly stepNovelty: readonly string[];
} {
  const novelty = c.config.novelty;
  if (novelty.coef <= 0) return { bonus: undefined, stepNovelty: c.stepNovelty };
  const valid = validProposals(c.work);
  const keys = valid.map(({ proposal, task }) => noveltyKey(proposal.type, task));
  const bonus = new Map(
    noveltyBonuses(keys, [...c.noveltyHistory, c.stepNovelty], novelty.coef).map((b, i) => [valid[i]!.proposal.id, b]),
  );
  return { bonus, stepNovelty: [...c.stepNovelty, ...keys] };
}

/** The novelty window once the step's batch goes to the learner: the step's keys join it (unchanged when off). */
export function slideNovelty(c: CoordinatorContext): CoordinatorContext['noveltyHistory'] {
  return c.config.novelty.coef > 0
    ? slideNoveltyWindow(c.noveltyHistory, c.stepNovelty, c.config.novelty.window)
    : c.noveltyHistory;
}
