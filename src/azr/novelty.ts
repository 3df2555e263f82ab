// The proposer's novelty bonus: an anti-degeneracy extension, not in the paper (its intrinsic rewards, §3.3 of the reference, all ship disabled).

import { isInductionTask, type Task, type TaskType } from './tasks.js';

/**
 * What novelty is measured on: what the proposer chose. Deduction and abduction: the program text (shared by the
 * two types — the same program proposed as either is the same program). Induction: the proposer only writes the
 * inputs (and message) for a program drawn from the buffer, so the key is the program with its inputs.
 */
export function noveltyKey(type: TaskType, task: Task): string {
  if (type === 'induction' && isInductionTask(task)) return `induction:${JSON.stringify([task.program, task.inputs])}`;
  return task.program;
}

/**
 * The novelty bonus of each valid proposal of a batch (azr's extension; off by default):
 *
 *     r_propose' = r_propose + b(p)        for a valid proposal p whose learnability was estimated
 *     b(p)       = coef / (1 + k(p))
 *     k(p)       = (occurrences of key(p) in `recent`) + (occurrences of key(p) in `batch`) − 1
 *
 * `recent` holds the keys of the valid proposals of the last `window` steps, this step's earlier batches included.
 * A program never seen in the window and proposed once gets the full `coef`; one proposed k other times recently
 * gets coef / (1 + k). Counting the batch's own copies symmetrically (every copy gets the same bonus) keeps the
 * bonus independent of the order of the batch. Invalid proposals keep −1 (no bonus). Unlike the paper's disabled
 * intrinsic terms (added only when r_learn > 0) the bonus is added to unlearnable proposals too: the collapse it
 * counters is a proposer stuck on one trivial program, where every r_learn is 0 and TRR++ sees no variance.
 */
export function noveltyBonuses(
  batch: readonly string[],
  recent: readonly (readonly string[])[],
  coef: number,
): number[] {
  if (!(coef >= 0 && Number.isFinite(coef)))
    throw new RangeError(`novelty coef must be a finite number ≥ 0, got ${coef}`);
  if (coef === 0) return batch.map(() => 0);
  const counts = new Map<string, number>();
  for (const keys of recent) for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const k of batch) counts.set(k, (counts.get(k) ?? 0) + 1);
  return batch.map((k) => coef / counts.get(k)!);
}

/** The recent window after a step: the last `window` steps' keys, the newest (`step`) last. */
export function slideNoveltyWindow(
  history: readonly (readonly string[])[],
  step: readonly string[],
  window: number,
): string[][] {
  return [...history, step].slice(-window).map((keys) => [...keys]);
}
