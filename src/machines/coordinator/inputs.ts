// What the coordinator starts its actors with (they are invoked for its whole life), from its context.

import { rolloutsPerStep } from '../config.js';
import type { CoordinatorContext } from './context.js';

export function bufferInput({ config: c, rng, resume }: CoordinatorContext) {
  return {
    rngState: rng.actors.buffer,
    options: {
      cap: c.buffer.cap,
      eviction: c.buffer.eviction,
      dedup: c.buffer.dedup,
      maxProgramShare: c.buffer.maxProgramShare,
    },
    inductionInputs: c.inductionInputs,
    references: c.references,
    referenceWeighting: c.buffer.referenceWeighting,
    mix: c.buffer.mix,
    recentWindow: c.buffer.recentWindow,
    ...(resume ? { restore: resume.buffers } : {}),
  };
}

/** The proposer's and the solver's: their own PRNG stream, the sampling temperature, retries. */
export function policyInput(c: CoordinatorContext, name: 'proposer' | 'solver') {
  return { rngState: c.rng.actors[name], temperature: c.config.temperature, retries: c.config.effectRetries };
}

export function executorInput(c: CoordinatorContext) {
  return { retries: c.config.effectRetries };
}

/** The learner's (on a resume, its steps learned come from its persisted snapshot). */
export function learnerInput(c: CoordinatorContext) {
  const persisted = c.resume?.actors['learner'] as { context?: { stepsLearned?: number } } | undefined;
  return {
    policyVersion: c.policyVersion,
    credit: rolloutsPerStep(c.config),
    taskTypes: c.config.taskTypes,
    trainProposer: c.config.trainProposer,
    advantage: c.config.advantage,
    maxStaleness: c.config.maxStaleness,
    creditOnBatch: c.config.mode === 'async',
    retries: c.config.effectRetries,
    ...(persisted?.context?.stepsLearned !== undefined ? { stepsLearned: persisted.context.stepsLearned } : {}),
  };
}
