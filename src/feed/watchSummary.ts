// What `azr watch` shows: a pure fold of run events into a summary, and its rendering as a block or one line per step.
import { ROLES, TASK_TYPES } from '../streams/events.js';
import { phaseBreakdown, type PhaseTimes } from '../streams/phaseTimes.js';
import { probePointOf, type ProbePoint } from '../streams/probePoint.js';
import type { Role, RunEvent, RunEventOf, TaskType } from '../streams/events.js';
import { summarizeScenario, type GapMessage, type HelloMessage, type ScenarioSummary } from './protocol.js';

interface GroupReward {
  /** Mean reward of the group's rollouts in that step; null when it had none. */
  mean: number | null;
  n: number;
}

type RewardTable = Record<Role, Record<TaskType, GroupReward>>;

interface QueueSummary {
  depth: number;
  capacity: number;
  credit: number | null;
  stallMs: number;
}

interface WatchSummary {
  runId: string | null;
  scenario: ScenarioSummary | null;
  source: HelloMessage['source'] | null;
  /** Connection state, as the client reports it. */
  connection: string;
  step: number;
  /** The seq after the last event or gap received. */
  nextSeq: number;
  /** Mean rewards of the last completed step (`rewardStep`). */
  rewards: RewardTable | null;
  rewardStep: number | null;
  validShare: number | null;
  learnableShare: number | null;
  meanLearnability: number | null;
  zeroAdvantageShare: number | null;
  /** Deduction solver rollouts of the last step that reasoned first, and their mean trace length (health.reasoning). */
  trace: { share: number; meanLexemes: number } | null;
  probe: ProbePoint | null;
  /** The first probe's overall accuracy: the base model. */
  baseProbe: number | null;
  loss: number | null;
  entropy: number | null;
  policyVersion: number | null;
  buffers: Record<TaskType, number> | null;
  queues: Record<string, QueueSummary>;
  errors: number;
  gaps: number;
  skipped: number;
  finished: { reason: string; steps: number } | null;
  /** The last finished step's time and where it went (step.finished). */
  stepTime: { step: number; durationMs: number; phases: PhaseTimes | null } | null;
  /** The base-model build, when this run built it (base.progress); `probe` is the latest measured. */
  base: { state: 'building' | 'built'; trainStep: number; totalSteps: number | null; probe: number | null } | null;
}

function emptyTable(): RewardTable {
  const row = () =>
    Object.fromEntries(TASK_TYPES.map((t) => [t, { mean: null, n: 0 }])) as Record<TaskType, GroupReward>;
  return { propose: row(), solve: row() };
}

/**
 * Folds events into a {@link WatchSummary}. Rewards are shown per completed step (a step completes at its
 * `step.finished`, or when a later step's event arrives), so the table does not flicker with partial batches.
 */
export class WatchState {
  readonly summary: WatchSummary = {
    runId: null,
    scenario: null,
    source: null,
    connection: 'connecting',
    step: 0,
    nextSeq: 0,
    rewards: null,
    rewardStep: null,
    validShare: null,
    learnableShare: null,
    meanLearnability: null,
    zeroAdvantageShare: null,
    trace: null,
    probe: null,
    baseProbe: null,
    loss: null,
    entropy: null,
    policyVersion: null,
    buffers: null,
    queues: {},
    errors: 0,
    gaps: 0,
    skipped: 0,
    finished: null,
    stepTime: null,
    base: null,
  };
  private current: { step: number; sums: RewardTable } | null = null;

  hello(hello: HelloMessage): void {
    this.summary.runId = hello.runId;
    this.summary.scenario = hello.scenario;
    this.summary.source = hello.source;
    if (hello.step > this.summary.step) this.summary.step = hello.step;
  }

  gap(gap: GapMessage): void {
    this.summary.gaps += 1;
    this.summary.skipped += gap.toSeq - gap.fromSeq + 1;
    this.summary.nextSeq = Math.max(this.summary.nextSeq, gap.toSeq + 1);
  }

  /** Applies events in seq order; returns the steps they completed (for one plain line each). */
  apply(events: readonly RunEvent[]): number[] {
    const completed: number[] = [];
    const s = this.summary;
    for (const e of events) {
      s.nextSeq = Math.max(s.nextSeq, e.seq + 1);
      if (this.current !== null && e.step > this.current.step) completed.push(...this.complete());
      if (e.step > s.step) s.step = e.step;
      switch (e.type) {
        case 'base.progress':
          s.base = {
            state: e.state,
            trainStep: e.trainStep,
            totalSteps: e.totalSteps,
            probe: e.probe ?? s.base?.probe ?? null,
          };
          break;
        case 'run.started':
          s.scenario ??= summarizeScenario(e.scenario, e.backend);
          break;
        case 'rollout.scored': {
          this.current ??= { step: e.step, sums: emptyTable() };
          const g = this.current.sums[e.role][e.task];
          g.mean = (g.mean ?? 0) + e.reward; // a sum until the step completes
          g.n += 1;
          break;
        }
        case 'health':
          s.validShare = e.validShare;
          s.learnableShare = e.learnableShare;
          s.meanLearnability = e.meanLearnability;
          s.zeroAdvantageShare = e.zeroAdvantageShare;
          s.trace = e.reasoning?.deduction ?? null;
          break;
        case 'learner.step':
          s.loss = e.loss;
          s.entropy = e.entropy;
          s.policyVersion = e.policyVersion;
          break;
        case 'probe.evaluated':
          s.probe = probePointOf(e);
          s.baseProbe ??= e.accuracy.overall;
          break;
        case 'buffer.sizes':
          s.buffers = { ...e.sizes };
          break;
        case 'queue.depth':
          s.queues[e.queue] = { depth: e.depth, capacity: e.capacity, credit: e.credit, stallMs: e.stallMs };
          break;
        case 'error':
          s.errors += 1;
          break;
        case 'step.finished':
          s.stepTime = { step: e.step, durationMs: e.durationMs, phases: e.phases ?? null };
          this.current ??= { step: e.step, sums: emptyTable() };
          completed.push(...this.complete());
          break;
        case 'run.finished':
          completed.push(...this.complete());
          s.finished = { reason: e.reason, steps: e.steps };
          break;
        default:
          break;
      }
    }
    return completed;
  }

  private complete(): number[] {
    const current = this.current;
    this.current = null;
    if (current === null) return [];
    const table = emptyTable();
    let any = false;
    for (const role of ROLES)
      for (const task of TASK_TYPES) {
        const g = current.sums[role][task];
        if (g.n > 0) any = true;
        table[role][task] = { mean: g.n > 0 ? g.mean! / g.n : null, n: g.n };
      }
    if (any) {
      this.summary.rewards = table;
      this.summary.rewardStep = current.step;
    }
    return [current.step];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

const num = (x: number | null, digits = 2) => (x === null ? '–' : x.toFixed(digits));
const signed = (x: number | null) => (x === null ? '  –  ' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);
const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)}%`);
const TASK_LETTER: Record<TaskType, string> = { deduction: 'd', abduction: 'a', induction: 'i' };

function stepText(s: WatchSummary): string {
  return s.scenario?.steps != null ? `${s.step}/${s.scenario.steps}` : String(s.step);
}

function scenarioText(s: WatchSummary): string {
  const sc = s.scenario;
  if (sc === null) return '';
  const parts = [
    sc.mode,
    sc.seed !== null ? `seed ${sc.seed}` : null,
    sc.backend !== null ? `backend ${sc.backend}` : null,
  ].filter((p) => p !== null);
  return `${sc.name ?? 'run'}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function probeText(s: WatchSummary): string {
  const p = s.probe;
  if (p === null) return 'probe –';
  const parts = TASK_TYPES.map((t) => `${TASK_LETTER[t]} ${num(p[t])}`).join(' · ');
  const atK = p.passAtK !== null ? `, pass@${p.passAtK.k} ${num(p.passAtK.overall)}` : '';
  const traced = p.traceShare !== null ? `, reasoned ${num(p.traceShare)}` : '';
  return `probe ${num(p.overall)} (${parts})${atK}${traced} at step ${p.step}${s.baseProbe !== null ? `, base ${num(s.baseProbe)}` : ''}`;
}

function queueText(name: string, q: QueueSummary): string {
  return `${name} ${q.depth}/${q.capacity}${q.credit !== null ? ` credit ${q.credit}` : ''}`;
}

/** The live block shown on a terminal, one string per line (no trailing newline), cut to `width` columns. */
export function renderSummary(s: WatchSummary, width = 100): string[] {
  const lines: string[] = [];
  const state = s.finished !== null ? `finished: ${s.finished.reason}` : s.connection;
  lines.push(`azr watch · ${s.runId ?? '…'}${s.scenario !== null ? ` · ${scenarioText(s)}` : ''} · ${state}`);
  lines.push(
    `step ${stepText(s)}   seq ${s.nextSeq}   policy ${s.policyVersion === null ? '–' : `v${s.policyVersion}`}` +
      `${s.skipped > 0 ? `   skipped ${s.skipped} events in ${s.gaps} gaps` : ''}${s.errors > 0 ? `   errors ${s.errors}` : ''}`,
  );
  if (s.base !== null) lines.push(`base model ${baseText(s.base)}`);
  lines.push('');
  lines.push(
    `reward${s.rewardStep !== null ? ` (step ${s.rewardStep})` : ''}`.padEnd(20) +
      TASK_TYPES.map((t) => t.padStart(11)).join(''),
  );
  for (const role of ROLES)
    lines.push(
      `  ${role}`.padEnd(20) + TASK_TYPES.map((t) => signed(s.rewards?.[role][t].mean ?? null).padStart(11)).join(''),
    );
  lines.push('');
  lines.push(
    `valid ${pct(s.validShare)}   learnable ${pct(s.learnableShare)}   learnability ${num(s.meanLearnability)}   zero-advantage ${pct(s.zeroAdvantageShare)}` +
      (s.trace !== null ? `   trace D ${pct(s.trace.share)} (${s.trace.meanLexemes.toFixed(1)} lexemes)` : ''),
  );
  lines.push(probeText(s));
  lines.push(`loss ${num(s.loss, 3)}   entropy ${num(s.entropy)}`);
  lines.push(`time ${stepTimeText(s)}`);
  lines.push(
    `buffers ${s.buffers === null ? '–' : TASK_TYPES.map((t) => `${TASK_LETTER[t]} ${s.buffers![t]}`).join(' · ')}`,
  );
  const queues = Object.entries(s.queues);
  lines.push(`queues ${queues.length === 0 ? '–' : queues.map(([name, q]) => queueText(name, q)).join('   ')}`);
  return lines.map((line) => (line.length > width ? `${line.slice(0, Math.max(1, width - 1))}…` : line));
}

/** `1.03 s at step 7: learn 72% · propose 9% · …` (the last finished step). */
function stepTimeText(s: WatchSummary, top?: number): string {
  const t = s.stepTime;
  if (t === null) return '–';
  return `${(t.durationMs / 1000).toFixed(2)} s at step ${t.step}${t.phases !== null ? `: ${phaseBreakdown(t.phases, top)}` : ''}`;
}

function baseText(b: NonNullable<WatchSummary['base']>): string {
  const where =
    b.state === 'built'
      ? `built after ${b.trainStep} steps`
      : `building: step ${b.trainStep}${b.totalSteps !== null ? `/${b.totalSteps}` : ''}`;
  return `${where}${b.probe !== null ? `   probe ${pct(b.probe)}` : ''}`;
}

/** One plain line for a base.progress event (for logs and pipes). */
export function renderBaseLine(e: RunEventOf<'base.progress'>): string {
  const total = e.totalSteps !== null ? `/${e.totalSteps}` : '';
  return [
    e.state === 'built'
      ? `base model built after ${e.trainStep}${total} steps`
      : `base model step ${e.trainStep}${total}`,
    ...(e.loss !== null ? [`loss ${num(e.loss, 3)}`] : []),
    ...(e.probe !== null ? [`probe ${num(e.probe)}`] : []),
  ].join(' | ');
}

/** One plain line for a completed step (for logs and pipes). */
export function renderStepLine(s: WatchSummary, step: number): string {
  const reward = (role: Role) =>
    TASK_TYPES.map((t) => {
      const mean = s.rewards?.[role][t].mean ?? null;
      return `${TASK_LETTER[t]}${mean === null ? ' –' : signed(mean)}`;
    }).join(' ');
  const queues = Object.entries(s.queues).map(([name, q]) => queueText(name, q));
  return [
    `step ${step}${s.scenario?.steps != null ? `/${s.scenario.steps}` : ''}`,
    `reward propose ${reward('propose')} solve ${reward('solve')}`,
    `valid ${pct(s.validShare)}`,
    `probe ${num(s.probe?.overall ?? null)}`,
    `loss ${num(s.loss, 3)}`,
    ...(s.stepTime?.step === step ? [`time ${stepTimeText(s, 3)}`] : []),
    ...(queues.length > 0 ? [`queue ${queues.join(', ')}`] : []),
  ].join(' | ');
}
