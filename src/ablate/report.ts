// The comparison of runs (`azr ablate`'s end, `azr report`): per-run summaries and per-variant mean ± std, recomputed from events.jsonl only.
//
// Definitions (each from the run's events.jsonl; the variant is the run's scenario name, the seed its scenario seed):
//   final probe accuracy  the last probe.evaluated event's accuracy (greedy pass@1, per task type and overall)
//   final pass@k          that event's sampled pass@k, overall (when the probe sampled: probe.samples = k > 0)
//   valid-proposal rate   valid / all proposal.validated events of training steps (step ≥ 1; seeding excluded)
//   mean learnability     mean of `learnability` over those proposals that have one
//   steps                 the last run.finished event's `steps` (else the last learner.step's step)
//   wall time per step    mean step.finished durationMs, in seconds
// Over seeds: mean and sample standard deviation (n − 1; 0 for one seed), over the runs where the number exists.

import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readEventLog } from '../streams/eventLog.js';
import type { RunEvent } from '../streams/events.js';

export const TASK_KEYS = ['overall', 'deduction', 'abduction', 'induction'] as const;
export type TaskKey = (typeof TASK_KEYS)[number];
type Accuracy = Record<TaskKey, number | null>;

/** One run, digested. */
export interface RunSummary {
  readonly runDir: string;
  readonly runId: string;
  readonly variant: string;
  readonly seed: number;
  /** run.finished reason, or null while the run has not finished. */
  readonly reason: 'completed' | 'interrupted' | 'failed' | null;
  readonly steps: number;
  readonly finalStep: number | null;
  readonly final: Accuracy;
  /** The last probe's sampled pass@k (overall) and its k; null when the probe did not sample. */
  readonly finalPassAtK: { readonly k: number; readonly overall: number } | null;
  readonly validRate: number | null;
  readonly meanLearnability: number | null;
  readonly secondsPerStep: number | null;
  /** Probe accuracy at each probed step. */
  readonly probeCurve: readonly ({ step: number } & Accuracy)[];
  /** Share of valid proposals at each training step. */
  readonly validCurve: readonly { step: number; rate: number }[];
}

const mean = (xs: readonly number[]): number | null =>
  xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n − 1); 0 for a single value. */
export function sampleStd(xs: readonly number[]): number | null {
  const m = mean(xs);
  if (m === null) return null;
  if (xs.length < 2) return 0;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The summary of one run's events. */
export function summarizeEvents(events: readonly RunEvent[], runDir: string): RunSummary {
  const started = events.find((e) => e.type === 'run.started');
  if (started?.type !== 'run.started') throw new Error(`${runDir}: events.jsonl has no run.started event`);
  const scenario = started.scenario as { name?: unknown; seed?: unknown };
  let finished: Extract<RunEvent, { type: 'run.finished' }> | null = null;
  let lastLearn: number | null = null;
  const probes: ({ step: number } & Accuracy)[] = [];
  let lastProbe: Extract<RunEvent, { type: 'probe.evaluated' }> | null = null;
  const perStep = new Map<number, { valid: number; all: number }>();
  const learn: number[] = [];
  const durations: number[] = [];
  for (const e of events) {
    if (e.type === 'run.finished') finished = e;
    else if (e.type === 'learner.step') lastLearn = e.step;
    else if (e.type === 'step.finished') durations.push(e.durationMs);
    else if (e.type === 'probe.evaluated') {
      probes.push({ step: e.step, ...e.accuracy });
      lastProbe = e;
    } else if (e.type === 'proposal.validated' && e.step >= 1) {
      const c = perStep.get(e.step) ?? { valid: 0, all: 0 };
      c.all++;
      if (e.valid) c.valid++;
      perStep.set(e.step, c);
      if (e.valid && e.learnability !== null) learn.push(e.learnability);
    }
  }
  const counts = [...perStep.values()];
  const all = counts.reduce((a, c) => a + c.all, 0);
  const last = probes[probes.length - 1];
  const sPerStep = mean(durations);
  return {
    runDir,
    runId: started.runId,
    variant: typeof scenario.name === 'string' ? scenario.name : 'run',
    seed: typeof scenario.seed === 'number' ? scenario.seed : 0,
    reason: finished?.reason ?? null,
    steps: finished?.steps ?? lastLearn ?? 0,
    finalStep: last?.step ?? null,
    final: {
      overall: last?.overall ?? null,
      deduction: last?.deduction ?? null,
      abduction: last?.abduction ?? null,
      induction: last?.induction ?? null,
    },
    finalPassAtK:
      lastProbe?.sampled !== undefined ? { k: lastProbe.sampled.k, overall: lastProbe.sampled.passAtK.overall } : null,
    validRate: all === 0 ? null : counts.reduce((a, c) => a + c.valid, 0) / all,
    meanLearnability: mean(learn),
    secondsPerStep: sPerStep === null ? null : sPerStep / 1000,
    probeCurve: probes,
    validCurve: [...perStep.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([step, c]) => ({ step, rate: c.valid / c.all })),
  };
}

/** Reads (readEventLog: schema-checked, a partial last line from a run still writing or killed ignored) and summarizes one run directory. */
export async function summarizeRun(runDir: string): Promise<RunSummary> {
  const events: RunEvent[] = [];
  for await (const e of readEventLog(path.join(runDir, 'events.jsonl'))) events.push(e);
  return summarizeEvents(events, runDir);
}

/** The run directories at or below `dir` (a directory holding events.jsonl is a run; dot-directories are skipped). */
export function findRunDirs(dir: string): string[] {
  if (existsSync(path.join(dir, 'events.jsonl'))) return [dir];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort()
    .flatMap((n) => {
      const p = path.join(dir, n);
      return statSync(p).isDirectory() ? findRunDirs(p) : [];
    });
}

/** mean ± std over seeds and how many runs had the number. */
export interface Stat {
  readonly mean: number | null;
  readonly std: number | null;
  readonly n: number;
}

export function stat(xs: readonly (number | null)[]): Stat {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return { mean: mean(v), std: sampleStd(v), n: v.length };
}

/** One variant over its seeds. */
export interface VariantSummary {
  readonly variant: string;
  readonly description?: string;
  readonly runs: readonly RunSummary[];
  readonly final: Record<TaskKey, Stat>;
  /** Final sampled pass@k (overall) over seeds, and the k (null when the runs did not sample, or used different k). */
  readonly passAtK: Stat;
  readonly passAtKK: number | null;
  readonly validRate: Stat;
  readonly meanLearnability: Stat;
  readonly steps: Stat;
  readonly secondsPerStep: Stat;
}

/** Groups runs by variant (in `order`, then first-seen order) and aggregates over seeds. */
export function summarizeVariants(
  runs: readonly RunSummary[],
  order: readonly string[] = [],
  descriptions: Readonly<Record<string, string>> = {},
): VariantSummary[] {
  const names = [
    ...new Set([...order.filter((n) => runs.some((r) => r.variant === n)), ...runs.map((r) => r.variant)]),
  ];
  return names.map((variant) => {
    const rs = runs.filter((r) => r.variant === variant).sort((a, b) => a.seed - b.seed);
    return {
      variant,
      ...(descriptions[variant] !== undefined ? { description: descriptions[variant] } : {}),
      runs: rs,
      final: Object.fromEntries(TASK_KEYS.map((k) => [k, stat(rs.map((r) => r.final[k]))])) as Record<TaskKey, Stat>,
      passAtK: stat(rs.map((r) => r.finalPassAtK?.overall ?? null)),
      passAtKK: new Set(rs.map((r) => r.finalPassAtK?.k ?? null)).size === 1 ? (rs[0]?.finalPassAtK?.k ?? null) : null,
      validRate: stat(rs.map((r) => r.validRate)),
      meanLearnability: stat(rs.map((r) => r.meanLearnability)),
      steps: stat(rs.map((r) => r.steps)),
      secondsPerStep: stat(rs.map((r) => r.secondsPerStep)),
    };
  });
}

/** A curve point of a variant: mean and band (min–max) over seeds at one step. */
export interface BandPoint {
  readonly variant: string;
  readonly step: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Mean and min–max over seeds, per variant and step, of a per-run curve. */
export function bands(
  variants: readonly VariantSummary[],
  curve: (r: RunSummary) => readonly { step: number; value: number | null }[],
): BandPoint[] {
  const out: BandPoint[] = [];
  for (const v of variants) {
    const byStep = new Map<number, number[]>();
    for (const r of v.runs)
      for (const p of curve(r)) if (p.value !== null) byStep.set(p.step, [...(byStep.get(p.step) ?? []), p.value]);
    for (const [step, xs] of [...byStep.entries()].sort((a, b) => a[0] - b[0]))
      out.push({ variant: v.variant, step, mean: mean(xs)!, min: Math.min(...xs), max: Math.max(...xs), n: xs.length });
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// Text: report.md and results.csv.

/** `41.2 ± 3.1` (percent points) or `–`. */
export function pctStat(s: Stat): string {
  if (s.mean === null) return '–';
  return s.n > 1 ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std!).toFixed(1)}` : (100 * s.mean).toFixed(1);
}

/** `0.123 ± 0.010` or `–`. */
export function numStat(s: Stat, digits: number): string {
  if (s.mean === null) return '–';
  return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std!.toFixed(digits)}` : s.mean.toFixed(digits);
}

export const RESULTS_COLUMNS = [
  'variant',
  'seeds',
  ...TASK_KEYS.flatMap((k) => [`final_${k}_mean`, `final_${k}_std`]),
  'valid_rate_mean',
  'valid_rate_std',
  'learnability_mean',
  'learnability_std',
  'steps_mean',
  'seconds_per_step_mean',
  'seconds_per_step_std',
  'pass_at_k',
  'pass_at_k_mean',
  'pass_at_k_std',
] as const;

export const RUNS_COLUMNS = [
  'variant',
  'seed',
  'reason',
  'steps',
  ...TASK_KEYS.map((k) => `final_${k}`),
  'valid_rate',
  'learnability',
  'seconds_per_step',
  'pass_at_k',
  'final_pass_at_k',
  'run_dir',
] as const;

const cell = (x: number | string | null | undefined): string => (x === null || x === undefined ? '' : String(x));

/** results.csv: one row per variant, full precision (empty = no data). */
export function resultsCsv(variants: readonly VariantSummary[]): string {
  const rows = variants.map((v) =>
    [
      v.variant,
      v.runs.map((r) => r.seed).join(' '),
      ...TASK_KEYS.flatMap((k) => [v.final[k].mean, v.final[k].std]),
      v.validRate.mean,
      v.validRate.std,
      v.meanLearnability.mean,
      v.meanLearnability.std,
      v.steps.mean,
      v.secondsPerStep.mean,
      v.secondsPerStep.std,
      v.passAtKK,
      v.passAtK.mean,
      v.passAtK.std,
    ]
      .map(cell)
      .join(','),
  );
  return [RESULTS_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** runs.csv: one row per run. */
export function runsCsv(runs: readonly RunSummary[]): string {
  const rows = runs.map((r) =>
    [
      r.variant,
      r.seed,
      r.reason ?? 'unfinished',
      r.steps,
      ...TASK_KEYS.map((k) => r.final[k]),
      r.validRate,
      r.meanLearnability,
      r.secondsPerStep,
      r.finalPassAtK?.k,
      r.finalPassAtK?.overall,
      JSON.stringify(r.runDir),
    ]
      .map(cell)
      .join(','),
  );
  return [RUNS_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

export interface ComparisonText {
  readonly title: string;
  readonly description?: string;
  /** Lines under the title (e.g. runs still missing). */
  readonly notes?: readonly string[];
  /** Plot files (relative to the report) to embed. */
  readonly plots?: readonly { readonly file: string; readonly caption: string }[];
}

/** report.md: the table per variant, the plots, the runs it was computed from. */
export function renderComparison(variants: readonly VariantSummary[], t: ComparisonText): string {
  const lines: string[] = [`# ${t.title}`, ''];
  if (t.description) lines.push(t.description, '');
  for (const n of t.notes ?? []) lines.push(`- ${n}`);
  if ((t.notes ?? []).length > 0) lines.push('');
  lines.push(
    '## Results',
    '',
    'Final probe accuracy (%, greedy pass@1 at the last probe of each run; pass@k from k samples at the training temperature), mean ± sample std over seeds; valid proposals (%) and mean learnability over the training steps; wall time per step.',
    '',
    '| variant | seeds | overall | pass@k | deduction | abduction | induction | valid proposals | mean learnability | steps | s / step |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const v of variants)
    lines.push(
      `| ${v.variant} | ${v.runs.length} | ${pctStat(v.final.overall)} | ${v.passAtK.mean === null ? '–' : `${pctStat(v.passAtK)}${v.passAtKK !== null ? ` (k=${v.passAtKK})` : ''}`} | ` +
        `${pctStat(v.final.deduction)} | ${pctStat(v.final.abduction)} | ${pctStat(v.final.induction)} | ` +
        `${pctStat(v.validRate)} | ${numStat(v.meanLearnability, 3)} | ${v.steps.std === 0 ? numStat({ ...v.steps, n: 1 }, 0) : numStat(v.steps, 1)} | ${numStat(v.secondsPerStep, 2)} |`,
    );
  if (variants.some((v) => v.description)) {
    lines.push('');
    for (const v of variants) if (v.description) lines.push(`- **${v.variant}**: ${v.description}`);
  }
  for (const p of t.plots ?? []) lines.push('', `![${p.caption}](${p.file})`);
  lines.push(
    '',
    '## Runs',
    '',
    '| variant | seed | outcome | steps | final overall | run |',
    '|---|---:|---|---:|---:|---|',
  );
  for (const v of variants)
    for (const r of v.runs)
      lines.push(
        `| ${r.variant} | ${r.seed} | ${r.reason ?? 'unfinished'} | ${r.steps} | ${r.final.overall === null ? '–' : (100 * r.final.overall).toFixed(1)} | ${r.runDir} |`,
      );
  lines.push(
    '',
    'Every number is recomputed from the runs’ `events.jsonl`: per variant in `results.csv`, per run in `runs.csv`; plots are rendered from the Vega-Lite specs beside them (`*.vl.json`).',
    '',
  );
  return lines.join('\n');
}
