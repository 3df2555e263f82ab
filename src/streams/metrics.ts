// metrics.csv: one row per step aggregated from the run events (a pure reduction), and the file writer.
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import type { Observable, Subscription } from 'rxjs';
import { ROLES, TASK_TYPES } from './events.js';
import type { Role, RunEvent, TaskType } from './events.js';

type GroupKey = `${Role}_${TaskType}`;
const GROUPS: readonly GroupKey[] = ROLES.flatMap((role) => TASK_TYPES.map((task) => `${role}_${task}` as const));

/**
 * The columns of metrics.csv, in file order. Per (role × task) group: `_n` rollouts scored, `_reward` and
 * `_advantage` their means. Shares and learner figures are copied from the step's `health` and `learner.step`
 * events; `probe_*` only on steps where the probe ran. An empty cell means the step had nothing to report.
 */
export const METRICS_COLUMNS = [
  'step',
  't_ms',
  'step_ms',
  ...GROUPS.flatMap((g) => [`${g}_n`, `${g}_reward`, `${g}_advantage`] as const),
  'proposals',
  'proposals_valid',
  'valid_share',
  'learnable_share',
  'zero_advantage_share',
  'distinct_programs',
  'input_ignoring_share',
  'mean_learnability',
  'loss',
  'grad_norm',
  'entropy',
  'kl',
  'policy_version',
  'tokens_per_second',
  'probe_overall',
  'probe_deduction',
  'probe_abduction',
  'probe_induction',
  'buffer_deduction',
  'buffer_abduction',
  'buffer_induction',
  'dropped_rollouts',
  'errors',
] as const;

type MetricsColumn = (typeof METRICS_COLUMNS)[number];
/** One step of metrics.csv; null is an empty cell. */
type MetricsRow = { [K in MetricsColumn]: number | null };

interface GroupSums {
  n: number;
  reward: number;
  advantage: number;
}

function emptyRow(step: number): MetricsRow {
  const row = Object.fromEntries(METRICS_COLUMNS.map((c) => [c, null])) as MetricsRow;
  row.step = step;
  for (const key of ['proposals', 'proposals_valid', 'dropped_rollouts', 'errors'] as const) row[key] = 0;
  for (const g of GROUPS) row[`${g}_n`] = 0;
  return row;
}

/**
 * Folds run events into metrics rows, one per step that has events. A step's row is complete when an event of
 * a later step arrives (steps never go back on the bus), when `run.finished` arrives, or at {@link finish} — so
 * events a step emits after its `step.finished` (a checkpoint, a probe) still count, and a live metrics.csv runs
 * one step behind the events. When a step has several `health`, `learner.step`, `probe.evaluated` or
 * `buffer.sizes` events, the last one wins.
 *
 * @example
 * const metrics = new MetricsAggregator();
 * bus.events$.subscribe((e) => metrics.push(e).forEach((row) => writer.write(row)));
 */
export class MetricsAggregator {
  private row: MetricsRow | null = null;
  private sums = new Map<GroupKey, GroupSums>();

  /** Adds one event; returns the rows it completed (at most one). */
  push(event: RunEvent): MetricsRow[] {
    const done: MetricsRow[] = [];
    const open = this.row?.step ?? null;
    if (open !== null && event.step !== open) {
      if (event.step < open)
        throw new RangeError(`metrics: step went back from ${open} to ${event.step} (seq ${event.seq})`);
      done.push(...this.finish());
    }
    const row = this.row ?? emptyRow(event.step);
    this.row = row;
    row.t_ms = event.t;
    switch (event.type) {
      case 'rollout.scored': {
        const key: GroupKey = `${event.role}_${event.task}`;
        const s = this.sums.get(key) ?? { n: 0, reward: 0, advantage: 0 };
        s.n += 1;
        s.reward += event.reward;
        s.advantage += event.advantage;
        this.sums.set(key, s);
        break;
      }
      case 'proposal.validated':
        row.proposals = (row.proposals ?? 0) + 1;
        if (event.valid) row.proposals_valid = (row.proposals_valid ?? 0) + 1;
        break;
      case 'health':
        row.valid_share = event.validShare;
        row.learnable_share = event.learnableShare;
        row.zero_advantage_share = event.zeroAdvantageShare;
        row.distinct_programs = event.distinctPrograms;
        row.input_ignoring_share = event.inputIgnoringShare;
        row.mean_learnability = event.meanLearnability;
        break;
      case 'learner.step':
        row.loss = event.loss;
        row.grad_norm = event.gradNorm;
        row.entropy = event.entropy;
        row.kl = event.kl ?? null;
        row.policy_version = event.policyVersion;
        row.tokens_per_second = event.tokensPerSecond;
        break;
      case 'probe.evaluated':
        row.probe_overall = event.accuracy.overall;
        row.probe_deduction = event.accuracy.deduction;
        row.probe_abduction = event.accuracy.abduction;
        row.probe_induction = event.accuracy.induction;
        break;
      case 'buffer.sizes':
        row.buffer_deduction = event.sizes.deduction;
        row.buffer_abduction = event.sizes.abduction;
        row.buffer_induction = event.sizes.induction;
        break;
      case 'step.finished':
        row.step_ms = event.durationMs;
        break;
      case 'rollout.dropped':
        row.dropped_rollouts = (row.dropped_rollouts ?? 0) + 1;
        break;
      case 'error':
        row.errors = (row.errors ?? 0) + 1;
        break;
      case 'run.finished':
        done.push(...this.finish());
        break;
      default:
        break; // other events carry nothing per step
    }
    return done;
  }

  /** Completes the open step's row, if any (end of stream). */
  finish(): MetricsRow[] {
    const row = this.row;
    if (row === null) return [];
    for (const [key, s] of this.sums) {
      row[`${key}_n`] = s.n;
      row[`${key}_reward`] = s.reward / s.n;
      row[`${key}_advantage`] = s.advantage / s.n;
    }
    this.row = null;
    this.sums = new Map();
    return [row];
  }
}

/** All rows of an event sequence (a finished run, or a log being rebuilt). */
export function aggregateMetrics(events: Iterable<RunEvent>): MetricsRow[] {
  const metrics = new MetricsAggregator();
  const rows: MetricsRow[] = [];
  for (const event of events) rows.push(...metrics.push(event));
  rows.push(...metrics.finish());
  return rows;
}

/** The header line of metrics.csv (with its newline). */
export function metricsCsvHeader(): string {
  return METRICS_COLUMNS.join(',') + '\n';
}

/** One CSV line (with its newline); numbers in JavaScript's shortest round-trip form, null as an empty cell. */
export function formatMetricsRow(row: MetricsRow): string {
  return (
    METRICS_COLUMNS.map((c) => {
      const value = row[c];
      return value === null ? '' : String(value);
    }).join(',') + '\n'
  );
}

/**
 * Writes metrics.csv: the header, then one whole line per row as it arrives (rows are rare, so each is written
 * at once). The file is derived data: on resume it is rebuilt from the truncated events.jsonl with
 * {@link fromEvents}, which is always consistent with the log whatever the crash left.
 *
 * @example
 * const writer = MetricsCsvWriter.create(join(runDir, 'metrics.csv'));
 * writer.attach(bus.events$); // rows as steps complete; closes when the bus completes
 */
export class MetricsCsvWriter {
  private fd: number | null;
  private readonly metrics = new MetricsAggregator();

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** A new file with just the header; refuses to overwrite one. */
  static create(path: string): MetricsCsvWriter {
    const writer = new MetricsCsvWriter(path, openSync(path, 'wx'));
    writer.writeLine(metricsCsvHeader());
    return writer;
  }

  /**
   * Replaces `path` with the rows of `events` (written to a temporary file, renamed over it once they are all in)
   * and returns a writer that goes on from them: the step the events end in stays open, so events of the same or a
   * later step continue it. `onEvent` sees each event as it is read (a resumed run's other digests).
   */
  static async fromEvents(
    path: string,
    events: AsyncIterable<RunEvent> | Iterable<RunEvent>,
    onEvent?: (e: RunEvent) => void,
  ): Promise<MetricsCsvWriter> {
    const temporary = `${path}.rebuild`;
    const writer = new MetricsCsvWriter(path, openSync(temporary, 'w'));
    try {
      writer.writeLine(metricsCsvHeader());
      for await (const event of events) {
        onEvent?.(event);
        writer.push(event);
      }
    } catch (e) {
      writer.closeFile();
      throw e;
    }
    renameSync(temporary, path); // the descriptor follows the file
    return writer;
  }

  /** Adds one event; writes the row of a step it completes. */
  push(event: RunEvent): void {
    for (const row of this.metrics.push(event)) this.write(row);
  }

  /** Appends one row. */
  write(row: MetricsRow): void {
    this.writeLine(formatMetricsRow(row));
  }

  /** Aggregates `events$` into rows written as steps complete; the last row is written and the file closed when it completes. */
  attach(events$: Observable<RunEvent>): Subscription {
    return events$.subscribe({ next: (event) => this.push(event), complete: () => this.close() });
  }

  /** Writes the row of the step still open and closes the file. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    for (const row of this.metrics.finish()) this.write(row);
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private writeLine(line: string): void {
    if (this.fd === null) throw new Error(`${this.path}: metrics writer is closed`);
    const data = Buffer.from(line);
    for (let done = 0; done < data.length;) done += writeSync(this.fd, data, done);
  }
}
