import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/streams/bus.js';
import { EventLog, readEventLog } from '../../src/streams/eventLog.js';
import { eventBody } from '../../src/streams/events.js';
import type { Role, RunEvent, TaskType } from '../../src/streams/events.js';
import {
  METRICS_COLUMNS,
  MetricsAggregator,
  MetricsCsvWriter,
  aggregateMetrics,
  formatMetricsRow,
  metricsCsvHeader,
} from '../../src/streams/metrics.js';
import { sampleBodies } from './fixtures/sampleBodies.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azr-metrics-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const scored = (role: Role, task: TaskType, reward: number, advantage: number) =>
  eventBody('rollout.scored', {
    role,
    task,
    id: `${role}-${task}-${reward}`,
    reward,
    advantage,
    policyVersion: 0,
    tokens: 5,
  });

/** A short scripted run: a seeding step 0 with the base probe, then two self-play steps. */
function scriptedRun(bus: EventBus): void {
  bus.emit(sampleBodies['run.started']);
  bus.emit({
    ...sampleBodies['probe.evaluated'],
    accuracy: { deduction: 0.5, abduction: 0.25, induction: null, overall: 0.4 },
  });
  bus.emit(sampleBodies['buffer.sizes']);

  bus.setStep(1);
  bus.emit(scored('solve', 'deduction', 1, 1.5));
  bus.emit(scored('solve', 'deduction', -0.5, -0.5));
  bus.emit(scored('propose', 'induction', 0.25, 0));
  bus.emit(sampleBodies['proposal.validated']);
  bus.emit({
    ...sampleBodies['proposal.validated'],
    valid: false,
    error: 'timeout',
    output: null,
    mcSuccesses: [],
    learnability: null,
  });
  bus.emit(sampleBodies.health);
  bus.emit(sampleBodies['learner.step']);
  bus.emit(sampleBodies['rollout.dropped']);
  bus.emit(sampleBodies.error);
  bus.emit(sampleBodies.error);
  bus.emit({ ...sampleBodies['step.finished'], durationMs: 120 });

  bus.setStep(2);
  bus.emit(scored('solve', 'deduction', 0, 0.5));
  bus.emit({ ...sampleBodies.health, validShare: null, meanLearnability: null });
  bus.emit({ ...sampleBodies['learner.step'], kl: 0.02, policyVersion: 3 });
  bus.emit({ ...sampleBodies['step.finished'], durationMs: 80 });
  bus.emit(sampleBodies['probe.evaluated']); // after step.finished: still counts for step 2
  bus.emit(sampleBodies['run.finished']);
}

function scriptedEvents(): RunEvent[] {
  let t = 0;
  const bus = new EventBus({ runId: 'r', clock: () => (t += 10) });
  const events: RunEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  scriptedRun(bus);
  return events;
}

describe('metrics', () => {
  it('has a fixed column order starting with the step and the six (role × task) groups', () => {
    expect(METRICS_COLUMNS.slice(0, 6)).toEqual([
      'step',
      't_ms',
      'step_ms',
      'propose_deduction_n',
      'propose_deduction_reward',
      'propose_deduction_advantage',
    ]);
    expect(METRICS_COLUMNS.filter((c) => c.endsWith('_advantage'))).toHaveLength(6);
    expect(new Set(METRICS_COLUMNS).size).toBe(METRICS_COLUMNS.length);
    expect(metricsCsvHeader()).toBe(METRICS_COLUMNS.join(',') + '\n');
  });

  it('aggregates one row per step from a scripted event stream', () => {
    const rows = aggregateMetrics(scriptedEvents());

    expect(rows.map((r) => r.step)).toEqual([0, 1, 2]);
    const [seeding, first, second] = rows;
    expect(seeding).toMatchObject({
      probe_overall: 0.4,
      probe_deduction: 0.5,
      probe_induction: null,
      buffer_deduction: 12,
      loss: null,
      solve_deduction_n: 0,
      solve_deduction_reward: null,
    });
    expect(first).toMatchObject({
      step_ms: 120,
      solve_deduction_n: 2,
      solve_deduction_reward: 0.25,
      solve_deduction_advantage: 0.5,
      propose_induction_n: 1,
      propose_induction_reward: 0.25,
      solve_abduction_n: 0,
      solve_abduction_reward: null,
      proposals: 2,
      proposals_valid: 1,
      valid_share: 0.8,
      distinct_programs: 11,
      mean_learnability: 0.31,
      loss: 0.71,
      grad_norm: 1.9,
      kl: null,
      policy_version: 2,
      probe_overall: null,
      dropped_rollouts: 1,
      errors: 2,
    });
    expect(second).toMatchObject({
      step_ms: 80,
      solve_deduction_n: 1,
      solve_deduction_advantage: 0.5,
      valid_share: null,
      kl: 0.02,
      policy_version: 3,
      probe_overall: 0.37,
      proposals: 0,
      errors: 0,
    });
    expect(second?.t_ms).toBe(
      Math.max(
        ...scriptedEvents()
          .filter((e) => e.step === 2)
          .map((e) => e.t),
      ),
    );
  });

  it('completes a step’s row when a later step starts, not before', () => {
    const events = scriptedEvents();
    const metrics = new MetricsAggregator();
    const completedAt: number[] = [];
    for (const e of events) if (metrics.push(e).length > 0) completedAt.push(e.seq);
    const firstOf = (step: number) => events.find((e) => e.step === step)?.seq;
    expect(completedAt).toEqual([firstOf(1), firstOf(2), events.at(-1)?.seq]); // the last on run.finished
    expect(metrics.finish()).toEqual([]);
  });

  it('refuses events whose step goes back', () => {
    const [a, b] = scriptedEvents().filter((e) => e.step === 1);
    const metrics = new MetricsAggregator();
    metrics.push({ ...a!, step: 2 });
    expect(() => metrics.push(b!)).toThrow(/step went back/);
  });

  it('formats rows as CSV with empty cells for missing values', () => {
    const [seeding] = aggregateMetrics(scriptedEvents());
    const cells = formatMetricsRow(seeding!).trimEnd().split(',');
    expect(cells).toHaveLength(METRICS_COLUMNS.length);
    expect(cells[METRICS_COLUMNS.indexOf('step')]).toBe('0');
    expect(cells[METRICS_COLUMNS.indexOf('probe_overall')]).toBe('0.4');
    expect(cells[METRICS_COLUMNS.indexOf('loss')]).toBe('');
    expect(cells[METRICS_COLUMNS.indexOf('solve_deduction_n')]).toBe('0');
  });

  it('writes metrics.csv live from the bus, and the last row when the bus completes', () => {
    const path = join(dir, 'metrics.csv');
    let t = 0;
    const bus = new EventBus({ runId: 'r', clock: () => (t += 10) });
    const writer = MetricsCsvWriter.create(path);
    writer.attach(bus.events$);
    scriptedRun(bus);
    bus.complete();

    const expected = metricsCsvHeader() + aggregateMetrics(scriptedEvents()).map(formatMetricsRow).join('');
    expect(readFileSync(path, 'utf8')).toBe(expected);
    expect(() => MetricsCsvWriter.create(path)).toThrow(/EEXIST/);
  });

  it('is rebuilt on resume from the truncated event log, then continues', async () => {
    const logPath = join(dir, 'events.jsonl');
    const csvPath = join(dir, 'metrics.csv');
    const events = scriptedEvents();
    const log = EventLog.create(logPath);
    for (const e of events) log.append(e);
    log.close();
    writeFileSync(csvPath, metricsCsvHeader() + '1,garbage from a crashed run'); // whatever a crash left

    const { log: resumed } = EventLog.openForResume(logPath);
    const last = resumed.truncateAfterStep(1);
    const writer = await MetricsCsvWriter.fromEvents(csvPath, readEventLog(logPath));
    const bus = new EventBus({ runId: 'r', clock: () => 0, nextSeq: (last?.seq ?? -1) + 1, step: 2 });
    bus.events$.subscribe((e) => resumed.append(e));
    writer.attach(bus.events$);
    bus.emit(scored('solve', 'abduction', 1, 0));
    bus.complete();
    resumed.close();

    const [header, ...lines] = readFileSync(csvPath, 'utf8').trimEnd().split('\n');
    expect(header + '\n').toBe(metricsCsvHeader());
    expect(lines.slice(0, 2).map((l) => l + '\n')).toEqual(
      aggregateMetrics(events.filter((e) => e.step <= 1)).map(formatMetricsRow),
    );
    const resumedRow = lines[2]?.split(',') ?? [];
    expect(resumedRow[METRICS_COLUMNS.indexOf('step')]).toBe('2');
    expect(resumedRow[METRICS_COLUMNS.indexOf('solve_abduction_n')]).toBe('1');
    expect(resumedRow[METRICS_COLUMNS.indexOf('solve_deduction_n')]).toBe('0'); // nothing of the dropped step 2 remains
    expect(lines).toHaveLength(3);
  });

  it('continues the step the rebuilt rows end in: its later events land in the same row', async () => {
    // Arrange: the log's events up to the middle of step 1 (as a resume sees them); the rest of step 1 follows live
    const events = scriptedEvents().filter((e) => e.step <= 1);
    const cut = events.findIndex((e) => e.type === 'learner.step');
    const csvPath = join(dir, 'metrics.csv');
    const seen: RunEvent[] = [];
    // Act
    const writer = await MetricsCsvWriter.fromEvents(csvPath, events.slice(0, cut), (e) => seen.push(e));
    for (const e of events.slice(cut)) writer.push(e);
    writer.close();
    writer.close();
    // Assert: the same rows as the whole log in one pass; each rebuilt event handed to onEvent once
    expect(readFileSync(csvPath, 'utf8')).toBe(
      metricsCsvHeader() + aggregateMetrics(events).map(formatMetricsRow).join(''),
    );
    expect(seen).toEqual(events.slice(0, cut));
  });
});
