// Input dependence: does a valid program's output depend on its input? An anti-degeneracy measure, not in the paper.
//
// Decided once per valid proposal, by the executor, from the probe inputs drawn here: the same answer is the
// run's health statistic (`health.inputIgnoringShare`) and, with `executor.rejectInputIgnoring`, the rejection
// (kind `input_ignoring`).

import { argsSource, valueEquals, type Value } from './lang/value.js';
import { generateArgs } from './lang/generate.js';
import type { Rng } from './rng.js';
import { programParams } from './tasks.js';

/** Tries per probe input wanted before giving up on finding distinct ones (a parameter of few values). */
const TRIES_PER_INPUT = 8;

/**
 * Up to `count` generated argument lists for a one-input program's parameters, distinct and different from its own
 * `input`; none when the program has no readable header. `rng` should be split per proposal, so that the draw does
 * not depend on batching.
 */
export function probeInputs(program: string, input: string, rng: Rng, count: number): string[] {
  const params = programParams(program);
  if (params === undefined || params.length === 0) return [];
  const out: string[] = [];
  for (let i = 0; i < TRIES_PER_INPUT * count && out.length < count; i++) {
    const other = argsSource(generateArgs(rng, params));
    if (other !== input && !out.includes(other)) out.push(other);
  }
  return out;
}

/**
 * A run of the program on a probe input: its output, or a failure — the program's (it threw, ran out of time, gave
 * no task-language value: its output differs) or the executor's (`infrastructure`: it tells nothing).
 */
export type ProbeRun =
  { readonly ok: true; readonly output: Value } | { readonly ok: false; readonly infrastructure: boolean };

/**
 * Whether a valid program ignores its input. With several inputs of its own (induction): all its outputs are equal.
 * With one: it gave its own output again on every probe input. Null when that cannot be told: no probe input, or a
 * probe run failed for the executor and none showed a different output.
 */
export function ignoresInput(outputs: readonly Value[], probes: readonly ProbeRun[]): boolean | null {
  const first = outputs[0];
  if (first === undefined) return null;
  if (outputs.length > 1) return outputs.every((o) => valueEquals(o, first));
  if (probes.length === 0) return null;
  if (probes.some((p) => (p.ok ? !valueEquals(p.output, first) : !p.infrastructure))) return false;
  return probes.every((p) => p.ok) ? true : null;
}
