// kill -9 in the middle of `azr run`, then `azr run --resume`: no partial line, no missing or repeated seq, no step recorded twice — and the resumed run continues exactly as an uninterrupted one.

import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpointSteps, loadLatestCheckpoint } from '../../src/services/checkpointStore.js';
import type { RunEvent } from '../../src/streams/events.js';
import { azrRun, invariantViolations, ofType, readEvents, runDirs } from './runHelpers.js';

const STEPS = 6;
const ARGS = ['scenarios/tiny.yaml', '--steps', String(STEPS), '--set', 'selfPlay.checkpointEvery=1', '--no-feed'];

/** `azr run ARGS` as its own process (tests/run/runMain.ts: src/cli/index.ts's program with `run`), SIGKILLed once `killWhen` matches its stderr. */
function runAndKill(
  args: string[],
  killWhen: RegExp,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ killed: boolean; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/run/runMain.ts', 'run', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!killed && killWhen.test(stderr)) {
        killed = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ killed, stderr, code }));
  });
}

/** Per step, what the learner saw and did: the run's trajectory without timing. */
function trajectory(events: readonly RunEvent[]): string[] {
  return events
    .filter(
      (e) =>
        e.type === 'rollout.scored' ||
        e.type === 'learner.step' ||
        e.type === 'proposal.validated' ||
        e.type === 'probe.evaluated',
    )
    .map((e) => {
      const { t: _t, runId: _r, seq: _s, ...rest } = e as Record<string, unknown>;
      delete rest.tokensPerSecond;
      return JSON.stringify(rest);
    });
}

let out: string;
let killedDir: string;
let killed: { killed: boolean; stderr: string; code: number | null };
let checkpointsAtKill: number[];

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'azr-resume-'));
  // Killed during step 4: the last checkpoint is step 3 (checkpointEvery 1), step 4's events are partly logged.
  killed = await runAndKill([...ARGS, '--out', out], /^step 3\/6 /m);
  killedDir = runDirs(out)[0]!;
  checkpointsAtKill = await listCheckpointSteps(killedDir);
  // A write the kernel did not finish leaves a partial last line: simulate one.
  appendFileSync(path.join(killedDir, 'events.jsonl'), '{"v":1,"runId":"x","seq":99');
}, 120_000);
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('azr run after kill -9', () => {
  it('was killed mid-run with a checkpoint on disk', () => {
    expect(killed.killed, killed.stderr).toBe(true);
    expect(killed.stderr).not.toMatch(/^step 6\/6/m);
    expect(checkpointsAtKill.length).toBeGreaterThan(0);
  });

  it('resumes from the last checkpoint and finishes with a clean log', async () => {
    const last = checkpointsAtKill[checkpointsAtKill.length - 1]!;
    const r = await azrRun(['--resume', killedDir, '--no-feed']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resuming ${path.basename(killedDir)} after step ${last}`);
    expect(r.stderr).toMatch(/a partial line of \d+ bytes cut/);

    const events = readEvents(killedDir); // throws on a partial or invalid line
    expect(invariantViolations(events, STEPS)).toEqual([]); // gap-free seq, each step learned once, six groups, rewards
    const started = ofType(events, 'run.started');
    expect(started.map((e) => e.resumedFromStep)).toEqual([null, last]);
    expect(ofType(events, 'step.finished').map((e) => e.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(events[events.length - 1]).toMatchObject({ type: 'run.finished', reason: 'completed', steps: STEPS });

    const metricsSteps = readFileSync(path.join(killedDir, 'metrics.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[0]));
    expect(metricsSteps).toEqual(Array.from({ length: STEPS + 1 }, (_, i) => i)); // rebuilt: one row per step, none twice

    // report.md and the summary line cover the whole run, the probes logged before the kill included
    const probes = ofType(events, 'probe.evaluated');
    expect(probes[0]!.step).toBe(0);
    const report = readFileSync(path.join(killedDir, 'report.md'), 'utf8');
    const curve = report.split('\n').filter((l) => /^\| \d+ \| \d+ \|/.test(l));
    expect(curve.map((l) => Number(l.split('|')[1]))).toEqual(probes.map((p) => p.step));
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { probeStart: number; probeEnd: number };
    expect(summary.probeStart).toBe(probes[0]!.accuracy.overall);
    expect(summary.probeEnd).toBe(probes[probes.length - 1]!.accuracy.overall);
  }, 120_000);

  it('continues exactly where an uninterrupted run would have gone', async () => {
    const whole = await azrRun([
      ...ARGS,
      '--set',
      `run.cacheDir=${path.join(out, '.cache')}`,
      '--out',
      path.join(out, 'whole'),
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    const uninterrupted = readEvents(runDirs(path.join(out, 'whole'))[0]!);
    expect(trajectory(readEvents(killedDir))).toEqual(trajectory(uninterrupted));
  }, 120_000);
});

describe('azr run on SIGTERM', () => {
  it('stops cleanly: the step in flight is abandoned, a checkpoint written, the log closed, exit 0', async () => {
    const dir = path.join(out, 'term');
    const r = await runAndKill(
      [
        'scenarios/tiny.yaml',
        '--steps',
        '50',
        '--set',
        `run.cacheDir=${path.join(out, '.cache')}`,
        '--out',
        dir,
        '--no-feed',
      ],
      /^step 1\/50 /m,
      'SIGTERM',
    );
    expect(r.killed, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    const runDir = runDirs(dir)[0]!;
    const events = readEvents(runDir);
    const finished = events[events.length - 1]!;
    expect(finished).toMatchObject({ type: 'run.finished', reason: 'interrupted' });
    const steps = (finished as { steps: number }).steps;
    expect(steps).toBeGreaterThanOrEqual(1);
    expect(steps).toBeLessThan(50);
    expect(await listCheckpointSteps(runDir)).toContain(steps);
    expect(ofType(events, 'checkpoint.saved').pop()?.path).toBe(`checkpoints/step-${steps}`);
  }, 120_000);
});

describe('azr run stopped (SIGTERM) while seeding, then --resume', () => {
  it('continues seeding at the round in flight: no step-0 record twice, and the same run as an uninterrupted one', async () => {
    // Arrange: a seeding phase long enough to be caught (40 tasks per buffer, up to 12 rounds per type).
    const cache = path.join(out, '.cache');
    const args = [
      'scenarios/tiny.yaml',
      '--set',
      'selfPlay.seedSize=40',
      '--set',
      'selfPlay.seedMaxRounds=12',
      '--set',
      `run.cacheDir=${cache}`,
      '--no-feed',
    ];
    const dir = path.join(out, 'seeding');
    // The line printed just before the coordinator starts, i.e. as seeding begins.
    const stopped = await runAndKill([...args, '--out', dir], /parameters, base /, 'SIGTERM');
    expect(stopped.killed, stopped.stderr).toBe(true);
    expect(stopped.code, stopped.stderr).toBe(0);
    const runDir = runDirs(dir)[0]!;
    const checkpoint = await loadLatestCheckpoint(runDir);
    expect(checkpoint?.data.seeded, 'stopped during seeding').toBe(false);

    // Act
    const resumed = await azrRun(['--resume', runDir, '--no-feed']);

    // Assert
    expect(resumed.code, resumed.stderr).toBe(0);
    const events = readEvents(runDir);
    expect(invariantViolations(events, 4)).toEqual([]); // gap-free seq, each step learned once, …
    expect(ofType(events, 'run.started').map((e) => e.resumedFromStep)).toEqual([null, 0]);
    const ids = ofType(events, 'proposal.validated').map((e) => e.rolloutId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ofType(events, 'probe.evaluated').filter((e) => e.step === 0)).toHaveLength(1);
    expect(ofType(events, 'buffer.sizes').filter((e) => e.step === 0)).toHaveLength(1);
    expect(ofType(events, 'run.finished').map((e) => e.reason)).toEqual(['completed']); // the stop's tail was cut with the round in flight

    const whole = await azrRun([...args, '--out', path.join(out, 'seeding-whole')]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(trajectory(events)).toEqual(trajectory(readEvents(runDirs(path.join(out, 'seeding-whole'))[0]!)));
  }, 180_000);
});

describe('azr run stopped (SIGTERM) during the base-model build', () => {
  it('stops the build between training steps, caches nothing, removes the empty run directory and exits 0', async () => {
    // Arrange: a build far too long to finish (100 000 pretraining steps) into a cache of its own.
    const cache = path.join(out, 'build-cache');
    const dir = path.join(out, 'build');

    // Act
    const r = await runAndKill(
      [
        'scenarios/tiny.yaml',
        '--set',
        'pretrain.steps=100000',
        '--set',
        `run.cacheDir=${cache}`,
        '--out',
        dir,
        '--no-feed',
      ],
      /building the base model/,
      'SIGTERM',
    );

    // Assert
    expect(r.killed, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('interrupted while building the base model; nothing cached');
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]); // no base-*, no .tmp-base-*
    expect(runDirs(dir)).toEqual([]);
  }, 120_000);
});
