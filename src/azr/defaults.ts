// The paper's numbers that src/azr takes as options, in one place (each function's default comes from here).

/** Hyperparameters of the paper's runs (reference §4.3, §5), used as defaults throughout src/azr. */
export const PAPER_DEFAULTS = {
  /** K reference triplets in a deduction or abduction proposer prompt. */
  references: 6,
  /** N inputs of an induction proposal (half shown, half hidden). */
  inductionInputs: 10,
  /** n Monte Carlo solver attempts that estimate a proposal's learnability. */
  learnabilitySamples: 8,
  /** Sequences per (role × type) group in a training step. */
  batchPerGroup: 64,
  /** Entries a buffer keeps (the original's `max_programs`). */
  bufferCap: 16384,
  /** An entry is "recent" for `maxNew` when t − (its step) ≤ this (the original's `past_epoch_window`). */
  recentWindow: 1,
} as const;
