// What the actors' replies leave in the coordinator's context: the type's work, buffer sizes, the learner's version.

import { EMPTY_WORK, mcSuccesses, type TypeWork } from '../phases.js';
import type { CoordinatorContext, CoordinatorEvent } from './context.js';
import { programWindow } from './health.js';
import { slideNovelty } from './novelty.js';

type Patch = Partial<CoordinatorContext>;

const byId = <T extends { id: string }>(xs: readonly T[]): Record<string, T> =>
  Object.fromEntries(xs.map((x) => [x.id, x]));
const work = (c: CoordinatorContext, w: Partial<TypeWork>): Patch => ({ work: { ...c.work, ...w } });

/** The step's solver tasks, drawn at its start. */
export function withSolverTasks(_c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'buffer.solverTasks' ? { solverTasks: e.tasks } : {};
}

/** The buffers' snapshot, for the checkpoint being written. */
export function withSnapshot(_c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'buffer.snapshot' ? { bufferSnapshot: e.buffers } : {};
}

/** A new proposer batch starts the type's work afresh. */
export function withProposals(_c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'proposer.proposed' ? { work: { ...EMPTY_WORK, proposals: e.ok ? e.proposals : [] } } : {};
}

export function withValidations(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'executor.validated' && e.ok ? work(c, { validations: byId(e.results) }) : {};
}

/** The learnability samples, and (once graded) the Monte Carlo successes of each valid proposal. */
export function withMcAnswers(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'solver.solved' ? work(c, { mcAnswers: e.ok ? e.answers : [] }) : {};
}
export function withMc(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'executor.checked'
    ? work(c, { mc: mcSuccesses(c.work, c.work.mcAnswers, byId(e.ok ? e.results : [])) })
    : {};
}

/** The solver's answers to the step's drawn tasks, and their verdicts. */
export function withAnswers(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'solver.solved' ? work(c, { answers: e.ok ? e.answers : [] }) : {};
}
export function withChecks(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return e.type === 'executor.checked' ? work(c, { checks: byId(e.ok ? e.results : []) }) : {};
}

/** The buffers' sizes after an append, and (training) the valid tasks it left out at maxProgramShare. */
export function withAppended(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  if (e.type !== 'buffer.appended') return {};
  if (!c.seeded) return { sizes: e.sizes };
  return {
    sizes: e.sizes,
    stats: { ...c.stats, capped: c.stats.capped + e.results.reduce((n, r) => n + r.capped, 0) },
  };
}

/** The learner's reply to `learn`: the step it was for counts as completed. */
export function withLearned(c: CoordinatorContext, e: CoordinatorEvent): Patch {
  return {
    completed: c.learning ?? c.step,
    learning: null,
    policyVersion: e.type === 'learner.learned' && e.ok ? e.result.policyVersion : c.policyVersion,
  };
}

/** The learner took the step's batch: the pushed rollouts are handed over, the windows slide. */
export function withAdvantages(c: CoordinatorContext): Patch {
  return { pushed: [], recentPrograms: programWindow(c), noveltyHistory: slideNovelty(c), stepNovelty: [] };
}
