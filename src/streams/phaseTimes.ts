// Where a step's time goes, for people: the phases of `step.finished` as one line (azr watch) and as medians (report.md).

import { PHASES, type Phase } from './events.js';

/** Milliseconds per phase of one step (`step.finished.phases`). */
export type PhaseTimes = Readonly<Partial<Record<Phase, number>>>;

/** The median of `xs` (not empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * `learn 72% · propose 9% · learnability 8% · …`: each phase's share of the step, largest first; shares that round
 * to 0% are left out, and with `top` only the largest `top` are shown.
 */
export function phaseBreakdown(phases: PhaseTimes, top: number = PHASES.length): string {
  const total = PHASES.reduce((n, p) => n + (phases[p] ?? 0), 0);
  if (total <= 0) return '–';
  return PHASES.map((p) => ({ p, share: (phases[p] ?? 0) / total }))
    .filter((x) => Math.round(100 * x.share) > 0)
    .sort((a, b) => b.share - a.share || PHASES.indexOf(a.p) - PHASES.indexOf(b.p))
    .slice(0, top)
    .map((x) => `${x.p} ${Math.round(100 * x.share)}%`)
    .join(' · ');
}

/** Median milliseconds of each phase over `steps` (0 in a step that did not enter it), in PHASES order; phases no step entered are left out. */
export function medianPhases(steps: readonly PhaseTimes[]): { readonly phase: Phase; readonly medianMs: number }[] {
  if (steps.length === 0) return [];
  return PHASES.filter((p) => steps.some((s) => s[p] !== undefined)).map((phase) => ({
    phase,
    medianMs: median(steps.map((s) => s[phase] ?? 0)),
  }));
}
