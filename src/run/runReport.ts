// report.md: the closing summary of a run — outcome, the probe curve as a table, the collapse signals over the second half.

import type { RunScenario } from '../config/schema.js';
import { median, medianPhases } from '../streams/phaseTimes.js';
import type { ProbePoint, StepDigest } from './runProgress.js';

interface ReportInput {
  readonly runId: string;
  readonly scenario: RunScenario;
  readonly reason: 'completed' | 'interrupted' | 'failed';
  readonly steps: number;
  readonly backend: string;
  readonly base: { readonly path: string; readonly probe: number | null };
  readonly probes: readonly ProbePoint[];
  readonly digests: readonly StepDigest[];
  readonly message?: string;
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`;

function mean(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

/**
 * Which probe tasks the run changed: between the first probe (the base) and the last, how many went from wrong to
 * right and from right to wrong — a net gain made of many flips both ways is churn, not learning. Per task type
 * when the probe's ids start with one (as `scripts/make-probe.ts` names them).
 */
function churnLines(first: ProbePoint | undefined, last: ProbePoint | undefined): string[] {
  if (!first?.correct || !last?.correct || first === last) return [];
  const groups = new Map<string, { fixed: number; broken: number; kept: number; tasks: number }>();
  const count = (group: string, before: boolean, after: boolean) => {
    const g = groups.get(group) ?? { fixed: 0, broken: 0, kept: 0, tasks: 0 };
    g.tasks++;
    if (!before && after) g.fixed++;
    else if (before && !after) g.broken++;
    else if (before && after) g.kept++;
    groups.set(group, g);
  };
  for (const [id, before] of first.correct) {
    const after = last.correct.get(id);
    if (after === undefined) continue;
    count('all', before, after);
    const type = /^(deduction|abduction|induction)-/.exec(id)?.[1];
    if (type !== undefined) count(type, before, after);
  }
  const lines = [
    '',
    `## Probe tasks that changed (step ${first.step} → ${last.step}, greedy)`,
    '',
    '| tasks | wrong → right | right → wrong | right at both | net |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const name of ['deduction', 'abduction', 'induction', 'all']) {
    const g = groups.get(name);
    if (g === undefined) continue;
    const net = g.fixed - g.broken;
    lines.push(
      `| ${name === 'all' ? `**all** (${g.tasks})` : `${name} (${g.tasks})`} | ${g.fixed} | ${g.broken} | ${g.kept} | ${net >= 0 ? '+' : ''}${net} |`,
    );
  }
  return lines;
}

/** The markdown text of report.md. */
export function renderReport(r: ReportInput): string {
  const lines: string[] = [];
  lines.push(`# ${r.runId}`, '');
  lines.push(
    `- outcome: **${r.reason}** after ${r.steps} of ${r.scenario.selfPlay.steps} steps${r.message ? ` (${r.message})` : ''}`,
  );
  lines.push(`- seed ${r.scenario.seed}, backend ${r.backend}, mode ${r.scenario.selfPlay.mode}`);
  lines.push(
    `- base model: ${r.base.path}${r.base.probe !== null ? ` (probe at the end of pretraining ${pct(r.base.probe)})` : ''}`,
  );
  const durations = r.digests.map((d) => d.durationMs).filter((x): x is number => x !== null);
  if (durations.length > 0)
    lines.push(`- mean step time ${(durations.reduce((a, b) => a + b, 0) / durations.length / 1000).toFixed(2)} s`);
  const first = r.probes[0];
  const last = r.probes[r.probes.length - 1];
  if (first && last) {
    const delta = 100 * (last.overall - first.overall);
    const worst = Math.min(...r.probes.map((p) => p.overall));
    lines.push(
      `- probe overall ${pct(first.overall)} (base, before self-play) → ${pct(last.overall)} at step ${last.step} (${delta >= 0 ? '+' : ''}${delta.toFixed(1)} points; lowest ${pct(worst)})`,
    );
  }
  const k = r.probes.find((p) => p.passAtK !== null)?.passAtK?.k;
  lines.push(
    '',
    '## Probe curve',
    '',
    `Greedy pass@1${k !== undefined ? `, and pass@${k} from ${k} samples per task at the training temperature` : ''}.`,
    '',
  );
  lines.push(
    `| step | policy version | overall | deduction | abduction | induction |${k !== undefined ? ` pass@${k} |` : ''} reasoned first |`,
    `|---:|---:|---:|---:|---:|---:|${k !== undefined ? '---:|' : ''}---:|`,
  );
  for (const p of r.probes)
    lines.push(
      `| ${p.step} | ${p.policyVersion} | ${pct(p.overall)} | ${pct(p.deduction)} | ${pct(p.abduction)} | ${pct(p.induction)} |${k !== undefined ? ` ${pct(p.passAtK?.overall)} |` : ''} ${pct(p.traceShare)} |`,
    );
  lines.push(...churnLines(first, last));
  const reasoned = r.digests.filter((d) => d.traceShare !== null);
  if (reasoned.length > 0) {
    const thirds = [0, 1, 2].map((i) =>
      reasoned.slice(Math.floor((i * reasoned.length) / 3), Math.floor(((i + 1) * reasoned.length) / 3)),
    );
    lines.push(
      '',
      '## Reasoning (deduction solver rollouts: share that wrote a trace first, mean trace length)',
      '',
      '| steps | trace share | mean trace lexemes |',
      '|---|---:|---:|',
    );
    for (const t of thirds.filter((x) => x.length > 0))
      lines.push(
        `| ${t[0]!.step}–${t[t.length - 1]!.step} | ${pct(mean(t.map((d) => d.traceShare)))} | ${mean(t.map((d) => d.traceLexemes))?.toFixed(1) ?? '–'} |`,
      );
  }
  const half = r.digests.slice(Math.floor(r.digests.length / 2));
  lines.push(
    '',
    `## Collapse signals (mean over the second half: steps ${half[0]?.step ?? '–'}–${half[half.length - 1]?.step ?? '–'})`,
    '',
  );
  lines.push(
    '| valid | learnable | zero-advantage groups | input-ignoring | mean learnability | distinct programs |',
    '|---:|---:|---:|---:|---:|---:|',
  );
  const progs = mean(half.map((d) => d.distinctPrograms));
  lines.push(
    `| ${pct(mean(half.map((d) => d.validShare)))} | ${pct(mean(half.map((d) => d.learnableShare)))} | ${pct(mean(half.map((d) => d.zeroAdvantageShare)))} | ` +
      `${pct(mean(half.map((d) => d.inputIgnoringShare)))} | ${mean(half.map((d) => d.meanLearnability))?.toFixed(3) ?? '–'} | ${progs === null ? '–' : progs.toFixed(1)} |`,
  );
  const timed = r.digests.flatMap((d) =>
    d.phases !== null && d.durationMs !== null ? [{ phases: d.phases, durationMs: d.durationMs }] : [],
  );
  if (timed.length > 0) {
    const medianStep = median(timed.map((t) => t.durationMs));
    lines.push(
      '',
      `## Where a step's time goes (median over ${timed.length} steps; step ${(medianStep / 1000).toFixed(2)} s)`,
      '',
    );
    lines.push('| phase | median ms | share of the median step |', '|---|---:|---:|');
    for (const { phase, medianMs } of medianPhases(timed.map((t) => t.phases)))
      lines.push(
        `| ${phase} | ${medianMs.toFixed(0)} | ${medianStep > 0 ? `${((100 * medianMs) / medianStep).toFixed(0)}%` : '–'} |`,
      );
  }
  lines.push('', 'Per step: `metrics.csv`; every event: `events.jsonl`; the resolved scenario: `scenario.yaml`.', '');
  return lines.join('\n');
}
