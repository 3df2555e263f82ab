// The solver's reward: −1 for a format error, −0.5 for a wrong answer, otherwise the accuracy.

import type { TaskType } from './tasks.js';

/**
 * How an induction answer's accuracy is measured: `binary` (the paper and every script of the original: 1 only
 * if every hidden pair passes) or `fraction` (the original's `accuracy` option: the share of hidden pairs that pass).
 */
export type InductionAccuracy = 'binary' | 'fraction';

interface SolverRewardOptions {
  /** Default `binary` (paper). */
  readonly induction?: InductionAccuracy;
}

/**
 * What grading found: the answer did not parse as its segment kind (`formatError`), or it was run and `passed`
 * of `total` checks held (deduction and abduction: one check; induction: one per hidden pair).
 */
type SolverOutcome =
  { readonly kind: 'formatError' } | { readonly kind: 'graded'; readonly passed: number; readonly total: number };

/** Accuracy of a graded answer in [0, 1]. */
function solverAccuracy(
  outcome: Extract<SolverOutcome, { kind: 'graded' }>,
  type: TaskType,
  options: SolverRewardOptions = {},
): number {
  const { passed, total } = outcome;
  if (!Number.isInteger(total) || total < 1 || !Number.isInteger(passed) || passed < 0 || passed > total)
    throw new RangeError(`passed/total must be integers with 0 ≤ passed ≤ total, total ≥ 1; got ${passed}/${total}`);
  if (type !== 'induction' && total !== 1) throw new RangeError(`a ${type} answer is one check, got total ${total}`);
  if (type === 'induction' && (options.induction ?? 'binary') === 'fraction') return passed / total;
  return passed === total ? 1 : 0;
}

/**
 * The solver reward (paper Eq. 5, r_solve = 1[y = y*], inside the format-aware reward of Eq. 6; reference §3.1):
 *
 *     r_solve = −1            if the answer has a format error
 *               −0.5          if it is well-formed but wrong (accuracy 0)
 *               acc           otherwise (1 for deduction and abduction; induction: 1, or the fraction of hidden
 *                             pairs passed under the `fraction` option)
 */
export function solverReward(outcome: SolverOutcome, type: TaskType, options: SolverRewardOptions = {}): number {
  if (outcome.kind === 'formatError') return -1;
  const acc = solverAccuracy(outcome, type, options);
  return acc > 0 ? acc : -0.5;
}
