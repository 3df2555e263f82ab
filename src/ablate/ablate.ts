// `azr ablate`: every variant × seed of a sweep as its own `azr run` child process, at most J at once, resumable; then the comparison report.
//
//   OUT/sweep.yaml                             the sweep file as given (for the record)
//   OUT/<variant>/scenario.yaml                the variant's resolved scenario (what each of its runs starts from)
//   OUT/<variant>/seed-<s>/run.log             the child's stdout and stderr (appended across restarts)
//   OUT/<variant>/seed-<s>/<variant>-<time>/   the run directory (events.jsonl, metrics.csv, checkpoints, report.md)
//   OUT/report.md, results.csv, runs.csv, plots/*.svg + *.vl.json
//
// Restart policy (run the same command again): a run whose events.jsonl ends with run.finished (completed) is kept
// and skipped; a run directory with events.jsonl but no completed finish (interrupted, killed, failed) is resumed with
// `azr run --resume` (from its last checkpoint: nothing recorded is lost); a slot without events.jsonl (stopped while
// building the base model) is removed and started over.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { parseOverride, ScenarioLoadError, scenarioYaml, type Override } from '../config/load.js';
import { summarizeRun, type RunSummary } from './report.js';
import type { RunScenario } from '../config/schema.js';
import type { ProbeExclusion } from '../pretrain/pretrainData.js';
import { loadSweep, type ResolvedSweep } from './sweep.js';
import { writeComparison, type ComparisonFiles } from './writeComparison.js';
import { finishedCompleted, followRun, slotRunDir, slotState } from './slots.js';
import { runRemoteSweep, sweepId } from './natsSweep.js';
import { connectNats, NatsUnreachableError } from '../nats/connection.js';
import type { NatsConnection } from '@nats-io/transport-node';

export { finishedCompleted };

/** bin/azr.js, which every run is started with. */
export const AZR_BIN = fileURLToPath(new URL('../../bin/azr.js', import.meta.url));

/** Bad input (sweep file, flags, an output directory from another sweep): exit 2, nothing started. */
export class AblateUsageError extends Error {
  override readonly name = 'AblateUsageError';
}

export interface AblateOptions {
  readonly sweep: string;
  /** Seeds 1..N instead of the sweep's. */
  readonly seeds?: number;
  /** Runs at once (default: the number of cores). */
  readonly jobs?: number;
  /** Output directory (default runs/ablate-<sweep name>); running again with the same one resumes. */
  readonly out?: string;
  /** `--set` overrides applied to every variant, last. */
  readonly set?: readonly string[];
  readonly stderr?: Writable;
  /** Progress bar (true) or plain lines (false). Default: stderr is a TTY. */
  readonly tty?: boolean;
  /** Install SIGINT/SIGTERM handlers (default true). */
  readonly signals?: boolean;
  /** Run the sweep on `azr worker`s through the NATS server at this URL instead of child processes here. */
  readonly nats?: string;
  /** With `nats`: a job whose worker sends no heartbeat for this long goes to another worker (ms; default 30000). */
  readonly ackWaitMs?: number;
}

export interface AblateOutcome {
  readonly outDir: string;
  readonly runs: number;
  readonly completed: number;
  /** Runs kept from an earlier invocation. */
  readonly skipped: number;
  readonly failed: readonly string[];
  readonly interrupted: boolean;
  readonly comparison: ComparisonFiles | null;
}

interface Job {
  readonly variant: string;
  readonly seed: number;
  readonly slot: string;
  readonly scenarioFile: string;
  readonly scenario: RunScenario;
  /** The base checkpoint directory (baseModelDir): runs sharing it start one at a time until the first has its base (no duplicate builds). */
  readonly baseGroup: string;
  state: 'pending' | 'running' | 'completed' | 'failed' | 'stopped';
  resumed: boolean;
  step: number;
  child?: ChildProcess;
  startedAt?: number;
  message?: string;
}

const fmtSeconds = (ms: number): string =>
  ms < 90_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 60_000).toFixed(1)} min`;

/** Runs a sweep to the end (or to Ctrl-C) and writes the comparison; AblateUsageError on bad input. */
export async function runAblate(o: AblateOptions): Promise<AblateOutcome> {
  const stderr = o.stderr ?? process.stderr;
  const tty = o.tty ?? (stderr as { isTTY?: boolean }).isTTY === true;
  const jobsAtOnce = o.jobs ?? availableParallelism();
  if (!Number.isInteger(jobsAtOnce) || jobsAtOnce < 1) throw new AblateUsageError('--jobs must be a positive integer');

  // ---- the sweep, every variant resolved before anything starts -----------------------------------------------------
  let sweep: ResolvedSweep;
  try {
    const overrides: Override[] = (o.set ?? []).map(parseOverride);
    sweep = loadSweep(o.sweep, { ...(o.seeds !== undefined ? { seeds: o.seeds } : {}), overrides });
  } catch (e) {
    if (e instanceof ScenarioLoadError) throw new AblateUsageError(e.message);
    throw e;
  }
  const outDir = path.resolve(o.out ?? path.join('runs', `ablate-${sweep.name}`));
  // every variant checked against what --out already holds before anything there is written
  const resolved: { name: string; file: string; scenario: RunScenario; text: string }[] = [];
  for (const v of sweep.variants) {
    // one base-model cache for the whole sweep (the default, <out>/.cache, would be one per run)
    const scenario: RunScenario = {
      ...v.scenario,
      run: { ...v.scenario.run, cacheDir: path.resolve(v.scenario.run.cacheDir ?? path.join(outDir, '.cache')) },
    };
    const file = path.join(outDir, v.name, 'scenario.yaml');
    const text = scenarioYaml(scenario);
    if (existsSync(file) && (await readFile(file, 'utf8')) !== text)
      throw new AblateUsageError(
        `${outDir} holds runs of a different '${v.name}' (its scenario changed since they started): use another --out, or delete ${path.dirname(file)}`,
      );
    resolved.push({ name: v.name, file, scenario, text });
  }
  // what each variant names outside itself (probe file, base checkpoint, a context the probe fits)
  const [{ checkRunInputs, RunInputError }, { baseModelDir }] = await Promise.all([
    import('../run/runInputs.js'),
    import('../pretrain/baseModelCache.js'),
  ]);
  const exclusions = new Map<string, ProbeExclusion>();
  for (const v of resolved) {
    try {
      exclusions.set(v.name, (await checkRunInputs(v.scenario)).exclusion);
    } catch (e) {
      if (e instanceof RunInputError) throw new AblateUsageError(`variant '${v.name}': ${e.message}`);
      throw e;
    }
  }
  // over NATS: the server is reached before anything is written (no server: a usage error, nothing half-written)
  let nc: NatsConnection | null = null;
  if (o.nats !== undefined) {
    try {
      nc = await connectNats(o.nats, { name: `azr ablate ${sweep.name}` });
    } catch (e) {
      if (e instanceof NatsUnreachableError) throw new AblateUsageError(e.message);
      throw e;
    }
  }
  await mkdir(outDir, { recursive: true });
  await copyFile(o.sweep, path.join(outDir, 'sweep.yaml'));
  for (const v of resolved) {
    await mkdir(path.dirname(v.file), { recursive: true });
    await writeFile(v.file, v.text);
  }
  const jobs: Job[] = sweep.seeds.flatMap((seed) =>
    resolved.map((v): Job => {
      const scenario = { ...v.scenario, seed };
      return {
        variant: v.name,
        seed,
        slot: path.join(outDir, v.name, `seed-${seed}`),
        scenarioFile: v.file,
        scenario,
        baseGroup: baseModelDir(scenario, scenario.run.cacheDir!, exclusions.get(v.name)!),
        state: 'pending',
        resumed: false,
        step: 0,
      };
    }),
  );

  // ---- progress --------------------------------------------------------------------------------------------------------
  const totalSteps = jobs.reduce((a, j) => a + j.scenario.selfPlay.steps, 0);
  const finishedRuns = () => jobs.filter((j) => j.state === 'completed').length;
  const doneSteps = () => jobs.reduce((a, j) => a + (j.state === 'completed' ? j.scenario.selfPlay.steps : j.step), 0);
  const running = () => jobs.filter((j) => j.state === 'running');
  const bar = tty
    ? new SingleBar({
        stream: stderr as NodeJS.WriteStream,
        format: 'ablate {bar} {value}/{total} steps | runs {runs}/{all} | {now}',
        hideCursor: true,
        clearOnComplete: false,
      })
    : null;
  let barOn = false;
  const payload = () => ({
    runs: finishedRuns(),
    all: jobs.length,
    now:
      running()
        .map((j) => `${j.variant}/s${j.seed} @${j.step}`)
        .join(' ') || '–',
  });
  const say = (line: string) => {
    if (bar && barOn) bar.stop();
    stderr.write(`${line}\n`);
    if (bar && barOn) bar.start(Math.max(1, totalSteps), doneSteps(), payload());
  };
  const update = () => {
    if (bar && barOn) bar.update(doneSteps(), payload());
  };

  let skipped = 0;
  for (const j of jobs)
    if (slotState(j.slot).kind === 'done') {
      j.state = 'completed';
      skipped++;
    }
  say(
    `azr ablate: ${sweep.variants.length} variants × ${sweep.seeds.length} seeds = ${jobs.length} runs into ${outDir}, ${jobsAtOnce} at once` +
      (skipped > 0 ? ` (${skipped} completed earlier, kept)` : ''),
  );

  // ---- Ctrl-C: the first asks every run to stop cleanly (checkpoint), the second stops them at once ------------------
  let stopping = 0;
  const onSignal = () => {
    stopping++;
    say(
      stopping === 1
        ? 'azr ablate: stopping — each run finishes its step and checkpoints; run the same command again to resume (Ctrl-C again to stop at once)'
        : 'azr ablate: stopping at once',
    );
    for (const j of running()) j.child?.kill('SIGINT');
  };
  const killAll = () => {
    for (const j of running()) j.child?.kill('SIGKILL');
  };
  if (o.signals ?? true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  process.on('exit', killAll);

  // ---- the scheduler ---------------------------------------------------------------------------------------------------
  const inBasePhase = (j: Job): boolean => {
    const runDir = slotRunDir(j.slot);
    return runDir === null || !existsSync(path.join(runDir, 'scenario.yaml'));
  };
  const startable = (j: Job): boolean =>
    j.state === 'pending' && !running().some((r) => r.baseGroup === j.baseGroup && inBasePhase(r));

  const start = async (j: Job, settle: () => void): Promise<void> => {
    const st = slotState(j.slot);
    let args: string[];
    if (st.kind === 'resume') {
      args = ['run', '--resume', st.runDir, '--no-feed'];
      j.resumed = true;
    } else {
      await rm(j.slot, { recursive: true, force: true });
      args = ['run', j.scenarioFile, '--no-feed', '--seed', String(j.seed), '--out', j.slot];
    }
    await mkdir(j.slot, { recursive: true });
    const log: WriteStream = createWriteStream(path.join(j.slot, 'run.log'), { flags: 'a' });
    log.write(`# azr ablate: azr ${args.join(' ')}\n`);
    // its own process group: a terminal's Ctrl-C reaches only azr ablate, which passes one SIGINT on (a second would kill the run)
    const child = spawn(process.execPath, [AZR_BIN, ...args], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    j.child = child;
    j.startedAt = performance.now();
    say(
      `azr ablate: ${j.resumed ? 'resuming' : 'starting'} ${j.variant} seed ${j.seed}${st.kind === 'resume' ? ` (${path.basename(st.runDir)})` : ''}`,
    );
    followRun(child, log, (step) => {
      j.step = step;
      update();
    });
    child.on('close', (code, signal) => {
      log.end();
      const took = fmtSeconds(performance.now() - j.startedAt!);
      if (slotState(j.slot).kind === 'done') {
        j.state = 'completed';
        say(`azr ablate: ${j.variant} seed ${j.seed} completed in ${took} [${finishedRuns()}/${jobs.length} runs]`);
      } else if (stopping > 0) {
        j.state = 'stopped';
        say(`azr ablate: ${j.variant} seed ${j.seed} stopped at step ${j.step}`);
      } else {
        j.state = 'failed';
        j.message = `exit ${code ?? signal}; see ${path.join(j.slot, 'run.log')}`;
        say(`azr ablate: ${j.variant} seed ${j.seed} failed (${j.message})`);
      }
      settle();
    });
  };

  if (bar) {
    bar.start(Math.max(1, totalSteps), doneSteps(), payload());
    barOn = true;
  }
  if (nc !== null) {
    const id = sweepId(
      sweep.name,
      resolved.map((v) => ({
        name: v.name,
        text: scenarioYaml({ ...v.scenario, run: { ...v.scenario.run, cacheDir: null } }),
      })),
    );
    say(`azr ablate: over NATS at ${o.nats} as sweep ${id}; workers (azr worker --nats ${o.nats}) run the jobs`);
    try {
      await runRemoteSweep({
        nc,
        sweep: id,
        jobs,
        ...(o.ackWaitMs !== undefined ? { ackWaitMs: o.ackWaitMs } : {}),
        say,
        update,
        stopping: () => stopping,
      });
    } finally {
      await nc.close();
    }
  } else
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (stopping === 0)
          while (running().length < jobsAtOnce) {
            const next = jobs.find(startable);
            if (!next) break;
            next.state = 'running'; // claimed now; start() spawns it
            start(next, tick).catch((e: unknown) => {
              next.state = 'failed';
              next.message = (e as Error).message;
              say(`azr ablate: ${next.variant} seed ${next.seed} could not start: ${next.message}`);
              tick();
            });
          }
        if (running().length === 0 && (stopping > 0 || !jobs.some((j) => j.state === 'pending'))) {
          clearInterval(timer);
          resolve();
        }
      };
      // runs waiting for a shared base model are re-checked now and then
      const timer = setInterval(tick, 500);
      tick();
    });
  if (bar) {
    bar.stop();
    barOn = false;
  }
  if (o.signals ?? true) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.off('exit', killAll);

  // ---- the comparison, from the completed runs ---------------------------------------------------------------------
  const runs: RunSummary[] = [];
  for (const j of jobs) if (j.state === 'completed') runs.push(await summarizeRun(slotRunDir(j.slot)!));
  const missing = jobs.filter((j) => j.state !== 'completed');
  let comparison: ComparisonFiles | null = null;
  if (runs.length > 0) {
    comparison = await writeComparison(
      runs,
      outDir,
      {
        title: `Ablation: ${sweep.name}`,
        ...(sweep.description !== undefined ? { description: sweep.description } : {}),
        notes: [
          `sweep ${path.relative(process.cwd(), sweep.file) || sweep.file}; seeds ${sweep.seeds.join(', ')}; ${runs.length} of ${jobs.length} runs completed`,
          ...(missing.length > 0
            ? [
                `not completed (run the same command again to finish them): ${missing.map((j) => `${j.variant}/seed-${j.seed}`).join(', ')}`,
              ]
            : []),
        ],
      },
      {
        order: sweep.variants.map((v) => v.name),
        descriptions: Object.fromEntries(
          sweep.variants.filter((v) => v.description).map((v) => [v.name, v.description!]),
        ),
      },
    );
    stderr.write(`azr ablate: report ${comparison.report}\n`);
  }
  return {
    outDir,
    runs: jobs.length,
    completed: runs.length,
    skipped,
    failed: jobs.filter((j) => j.state === 'failed').map((j) => `${j.variant}/seed-${j.seed}: ${j.message}`),
    interrupted: stopping > 0,
    comparison,
  };
}
