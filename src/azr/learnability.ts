// The proposer's learnability reward: 1 − mean solver success, for tasks neither trivial nor impossible.

/**
 * What a valid proposal that the solver always or never solves earns: `zero` (the paper, Eq. 4: r_propose = 0)
 * or `minusHalf` (the original code's −0.5, issue #37 of the original repository).
 */
export type UnlearnableReward = 'zero' | 'minusHalf';

interface LearnabilityOptions {
  /** Default `zero` (paper). */
  readonly unlearnable?: UnlearnableReward;
}

/** A proposal as the reward sees it: invalid, or valid with the accuracies of its n Monte Carlo solver attempts. */
type ProposalOutcome = { readonly valid: false } | { readonly valid: true; readonly successes: readonly number[] };

/** Mean solver success r̄_solve over the attempts (each in [0, 1]). */
function meanSuccess(successes: readonly number[]): number {
  if (successes.length === 0) throw new RangeError('learnability needs at least one solver attempt');
  let sum = 0;
  for (const s of successes) {
    if (!(s >= 0 && s <= 1)) throw new RangeError(`a solver success must be in [0, 1], got ${s}`);
    sum += s;
  }
  return sum / successes.length;
}

/**
 * The proposer reward (paper Eq. 4, with the −1 of Eq. 6 for an invalid proposal; reference §3.2):
 *
 *     r_propose = −1              if the proposal is invalid
 *                 1 − r̄_solve     if 0 < r̄_solve < 1, with r̄_solve = (1/n) Σ_j r_solve^(j)
 *                 0               if r̄_solve ∈ {0, 1}   (option `minusHalf`: −0.5, as the original code)
 *
 * The n attempts must be sampled at the training temperature; they only estimate r̄_solve and are not trained on.
 */
export function learnabilityReward(proposal: ProposalOutcome, options: LearnabilityOptions = {}): number {
  if (!proposal.valid) return -1;
  const mean = meanSuccess(proposal.successes);
  if (mean > 0 && mean < 1) return 1 - mean;
  return (options.unlearnable ?? 'zero') === 'zero' ? 0 : -0.5;
}
