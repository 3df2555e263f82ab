// A probe evaluation as the progress displays keep it (report.md's curve, azr watch): one place that reads the event.

import type { RunEventOf } from './events.js';

/** One point of the probe curve: greedy pass@1 per type and overall, and the sampled pass@k (overall) when measured. */
export interface ProbePoint {
  step: number;
  policyVersion: number;
  overall: number;
  deduction: number | null;
  abduction: number | null;
  induction: number | null;
  /** Sampled pass@k (overall) and its k, when the probe sampled. */
  passAtK: { k: number; overall: number } | null;
  /** Share of greedy answers that reasoned first (overall), when reported. */
  traceShare: number | null;
  /** Probe task id → greedy answer right, when the event carries per-task results. */
  correct: ReadonlyMap<string, boolean> | null;
}

export function probePointOf(e: RunEventOf<'probe.evaluated'>): ProbePoint {
  return {
    step: e.step,
    policyVersion: e.policyVersion,
    ...e.accuracy,
    passAtK: e.sampled !== undefined ? { k: e.sampled.k, overall: e.sampled.passAtK.overall } : null,
    traceShare: e.traceShare?.overall ?? null,
    correct: e.results !== undefined ? new Map(e.results.map((t) => [t.id, t.correct])) : null,
  };
}
