// The messages between actors: what each producer hands back (proposals, answers) and its failure reply.

import type { ProposerView, SolverView, TaskType } from '../azr/index.js';
import type { Reasoning, Slot, TrainingTrace } from './effects.js';

/** What a completion cost and which weights produced it (absent when the policy failed on the request). */
interface CompletionInfo {
  readonly tokens: number;
  readonly policyVersion: number;
  readonly trace?: TrainingTrace;
}

/** Why a completion yields nothing usable: `policy` (the model failed on it: dropped) or `format` (ill-formed: −1). */
type ParseFailure = { readonly ok: false; readonly error: 'policy' | 'format'; readonly message: string };

/** A proposer completion read as a proposal: program and argument lists (+ message for induction). */
export interface Proposal {
  /** The rollout id (unique in the run). */
  readonly id: string;
  readonly type: TaskType;
  readonly view: ProposerView;
  readonly completion: CompletionInfo | null;
  /** Room for this rollout on the way to the learner (training proposals only). */
  readonly slot?: Slot;
  readonly parsed:
    | { readonly ok: true; readonly program: string; readonly inputs: readonly string[]; readonly message?: string }
    | (ParseFailure & { readonly program: string; readonly inputs: readonly string[]; readonly message?: string });
}

/** A solver completion read as an answer of the view's kind (value, argument list, program). */
export interface Answer {
  /** The rollout id (unique in the run). */
  readonly id: string;
  /** The item this answers (a solver task, or a proposal being estimated). */
  readonly itemId: string;
  readonly type: TaskType;
  readonly view: SolverView;
  readonly completion: CompletionInfo | null;
  readonly slot?: Slot;
  readonly parsed: { readonly ok: true; readonly answer: string } | ParseFailure;
  /** The completion's reasoning trace (absent when the policy failed). */
  readonly reasoning?: Reasoning;
}

/** The reply of an actor whose effect failed for a whole batch after its retries. */
export interface BatchFailure {
  readonly ok: false;
  readonly error: string;
  readonly attempts: number;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
