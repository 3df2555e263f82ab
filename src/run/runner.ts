// The runner: builds the whole self-play system from a resolved scenario — base model, sandbox, rollout engine, learner, probe, checkpoints, event log, metrics, feed — and runs the coordinator to the end.
//
//   scenario ─→ base model (named, cached, or built by pretraining) ─→ Learner (+ frozen base for KL) ─→ WeightBoard ─→ OrtRollout
//   SandboxPool ─→ ExecutorService, ProbeEvaluator, SFT data           CheckpointStore ─→ runs/<name>/checkpoints/step-N
//   EventBus ─→ events.jsonl, metrics.csv, progress on stderr, the live feed
//   coordinatorMachine.provide(effects) ─→ run until completed or STOP ─→ run.finished, report.md

import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { createActor } from 'xstate';
import { Rng } from '../azr/index.js';
import { formatBackendReport, initBackend, type BackendReport } from '../gpu/backend.js';
import { GradientWorkers } from '../gpu/gradientWorkers.js';
import { Learner } from '../gpu/learner.js';
import { Gpt } from '../gpu/model.js';
import { OrtRollout } from '../gpu/rollout.js';
import { WeightBoard } from '../gpu/weights.js';
import { actorStateInspector } from '../machines/actorStateInspector.js';
import type { CoordinatorOutput } from '../machines/coordinatorMachine.js';
import type { CheckpointData, Effects, ProbeEffect, ScoredRollout } from '../machines/effects.js';
import { fromCreditChannel, withEffects } from '../machines/withEffects.js';
import { SandboxPool } from '../sandbox/index.js';
import { connectNats } from '../nats/connection.js';
import { NatsSandbox } from '../nats/natsSandbox.js';
import { scenarioYaml } from '../config/load.js';
import { coordinatorConfigOf, type RunScenario } from '../config/schema.js';
import { EventBus } from '../streams/bus.js';
import { CreditChannel } from '../streams/creditChannel.js';
import { EventLog, readEventLog } from '../streams/eventLog.js';
import { eventBody } from '../streams/events.js';
import { MetricsCsvWriter } from '../streams/metrics.js';
import { queueDepthBody } from '../streams/queueStatus.js';
import { loadBaseModel } from '../pretrain/baseModel.js';
import { ensureBaseModel } from '../pretrain/baseModelCache.js';
import { CheckpointStore, loadLatestCheckpoint } from '../services/checkpointStore.js';
import { ExecutorService } from '../services/executorService.js';
import { GeneratorProposer } from '../services/generatorProposer.js';
import { LabelledSftSource, LearnerService } from '../services/learnerService.js';
import { PolicyService } from '../services/policyService.js';
import { ProbeEvaluator } from '../pretrain/probeEval.js';
import { checkRunInputs } from './runInputs.js';
import { pretrainDataOptions } from '../pretrain/pretrainData.js';
import { BuildProgressEvents, RunDigest, RunProgress } from './runProgress.js';
import { renderReport } from './runReport.js';

/** What the feed needs (src/feed `startFeed` fits); absent = no feed. */
export type StartFeed = (options: {
  bus: EventBus;
  logPath: string;
  runId: string;
  flushLog: () => void;
  host: string;
  port: number;
  token?: string;
}) => Promise<{ url: string; close(): Promise<void> }>;

export interface RunOptions {
  /** The resolved scenario (for a resume: the run's scenario.yaml, possibly with more steps). */
  readonly scenario: RunScenario;
  /** Fresh run: runs are created under this directory (default `runs`). */
  readonly out?: string;
  /** Continue this run directory from its last checkpoint instead of starting a new one. */
  readonly resumeDir?: string;
  readonly stderr?: Writable;
  readonly stdout?: Writable;
  /** Progress bar (true) or one plain line per step (false). Default: stderr is a TTY. */
  readonly tty?: boolean;
  /** Monotonic milliseconds: event `t`, step times, throughput. Never used for decisions. Default performance.now. */
  readonly now?: () => number;
  /** Wall-clock time, only to name the run directory. Default `new Date()`. */
  readonly wallTime?: () => Date;
  /** Install SIGINT/SIGTERM handlers (first: stop cleanly; second: exit at once). Default true. */
  readonly signals?: boolean;
  readonly feed?: { readonly start: StartFeed; readonly host: string; readonly port: number; readonly token?: string };
  /** Called once the run directory exists; `stop()` asks for a clean stop (as Ctrl-C). */
  readonly onStarted?: (run: { runDir: string; stop(): void }) => void;
  /** Wraps the run's effects before the coordinator gets them (a benchmark's instruments); default: none. */
  readonly instrument?: (effects: Effects) => Effects;
}

export interface RunOutcome {
  readonly runDir: string;
  readonly runId: string;
  readonly reason: 'completed' | 'interrupted' | 'failed';
  readonly steps: number;
  readonly probes: readonly { step: number; overall: number }[];
  readonly message?: string;
}

/** `tiny-20250101-120000` (UTC), the run directory's name. */
export function runDirName(name: string, date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${name}-${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

async function freshRunDir(out: string, name: string, date: Date): Promise<string> {
  await mkdir(out, { recursive: true });
  const base = path.join(out, runDirName(name, date));
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const v = (pkg: string): string => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    azr: (require('../../package.json') as { version: string }).version,
    node: process.version,
    '@tensorflow/tfjs': v('@tensorflow/tfjs'),
    'onnxruntime-node': v('onnxruntime-node'),
    xstate: v('xstate'),
    rxjs: v('rxjs'),
  };
}

/**
 * A stop during the base-model build: nothing was cached (the build's temporary directory is gone). A fresh run
 * directory, holding only the log of the build's progress, is removed. Exit 0, with the usual summary line on stdout.
 * Call after the log, metrics and feed are closed.
 */
async function stoppedBeforeSelfPlay(
  runDir: string,
  resuming: boolean,
  stderr: Writable,
  stdout: Writable,
  runId: string,
): Promise<RunOutcome> {
  let removed = false;
  if (!resuming && (await readdir(runDir)).every((name) => name === 'events.jsonl' || name === 'metrics.csv')) {
    await rm(runDir, { recursive: true });
    removed = true;
  }
  stderr.write(
    `azr run: interrupted while building the base model; nothing cached${removed ? `, ${runDir} removed` : ''}\n`,
  );
  stdout.write(
    JSON.stringify({
      runDir: removed ? null : runDir,
      reason: 'interrupted',
      steps: 0,
      probeStart: null,
      probeEnd: null,
    }) + '\n',
  );
  return { runDir, runId, reason: 'interrupted', steps: 0, probes: [] };
}

/** Runs self-play from a resolved scenario; resolves when the run has finished and everything is written. */
export async function runSelfPlay(o: RunOptions): Promise<RunOutcome> {
  const stderr = o.stderr ?? process.stderr;
  const now = o.now ?? (() => performance.now());
  const s = o.scenario;
  const tty = o.tty ?? (stderr as { isTTY?: boolean }).isTTY === true;
  const progress = new RunProgress(stderr, tty, s.selfPlay.steps);
  const resuming = o.resumeDir !== undefined;
  const out = o.out ?? 'runs';
  // bad input (probe file, base, context) is refused before anything is written: RunInputError
  const { evaluated: probeTasks, exclusion } = await checkRunInputs(s);
  // executor over NATS: a server that cannot be reached is refused here too (NatsUnreachableError), nothing written
  const nats =
    s.executor.transport === 'nats' ? await connectNats(s.executor.nats.url, { name: `azr run ${s.name}` }) : null;
  const runDir = resuming ? o.resumeDir! : await freshRunDir(out, s.name, (o.wallTime ?? (() => new Date()))());
  const runId = path.basename(path.resolve(runDir));

  // Ctrl-C / SIGTERM: the first asks for a clean stop (checkpoint, flush, exit 0), the second exits at once.
  // Before self-play starts (the base-model build) a stop aborts the build between its training steps.
  let stopRequested = false;
  let stopActor: (() => void) | null = null;
  const building = new AbortController();
  const stop = () => {
    if (stopRequested) return;
    stopRequested = true;
    if (stopActor === null) {
      progress.line(
        'azr run: stopping — the base-model build stops after its current step (Ctrl-C again to exit at once)',
      );
      building.abort(new Error('azr run: stopped'));
    } else
      progress.line(
        'azr run: stopping — finishing the step in flight, then a checkpoint (Ctrl-C again to exit at once)',
      );
    stopActor?.();
  };
  const onSignal = () => {
    if (stopRequested) {
      stderr.write('azr run: second interrupt — exiting now\n');
      process.exit(130);
    }
    stop();
  };
  if (o.signals ?? true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  o.onStarted?.({ runDir, stop });

  const cleanups: (() => Promise<void> | void)[] = [];
  if (nats !== null) cleanups.push(() => nats.close());
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        stderr.write(`azr run: cleanup failed: ${(e as Error).message}\n`);
      }
    }
    cleanups.length = 0;
  };
  if (o.signals ?? true)
    cleanups.push(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });

  try {
    const cacheDir = s.run.cacheDir ?? path.join(resuming ? path.dirname(path.resolve(runDir)) : out, '.cache');

    // ---- resume: the checkpoint, and the log cut back to it --------------------------------------------------------
    // First of all, so that the feed is up (and the log written) while the base model is built.
    let resume: CheckpointData | undefined;
    let resumeModel: Awaited<ReturnType<typeof loadLatestCheckpoint>> = null;
    const eventsPath = path.join(runDir, 'events.jsonl');
    let log: EventLog;
    let nextSeq = 0;
    let tOffset = 0;
    if (resuming) {
      if (!existsSync(eventsPath)) throw new Error(`${runDir} holds no events.jsonl: not a run directory`);
      resumeModel = await loadLatestCheckpoint(runDir);
      const opened = EventLog.openForResume(eventsPath);
      log = opened.log;
      resume = resumeModel?.data;
      // Stopped while seeding (all step 0): cut the round in flight and the stop; the resume runs that round again.
      // Otherwise keep the steps the checkpoint covers (no checkpoint yet: nothing; the run starts over here).
      const seedingEnd = resume !== undefined && !resume.seeded ? resume.seeding?.eventSeq : undefined;
      const last = seedingEnd != null ? log.truncateFromSeq(seedingEnd) : log.truncateAfterStep(resume?.step ?? -1);
      nextSeq = last === null ? 0 : last.seq + 1;
      tOffset = last?.t ?? 0;
      progress.line(
        resume
          ? `azr run: resuming ${runId} after step ${resume.step} (checkpoint ${resumeModel!.dir}; events from seq ${nextSeq}${opened.droppedBytes > 0 ? `, a partial line of ${opened.droppedBytes} bytes cut` : ''})`
          : `azr run: ${runId} has no checkpoint yet; starting it over`,
      );
    } else log = EventLog.create(eventsPath);
    cleanups.push(() => log.close());

    // ---- events: log, metrics, progress, feed ----------------------------------------------------------------------
    // a resumed run's report (probe curve, collapse signals) covers the steps logged before the stop too
    const digest = new RunDigest();
    const metrics = await MetricsCsvWriter.fromEvents(
      path.join(runDir, 'metrics.csv'),
      resuming ? readEventLog(eventsPath) : [],
      (e) => digest.push(e),
    );
    cleanups.push(() => metrics.close());
    const bus = new EventBus({ runId, clock: now, nextSeq, step: resume?.step ?? 0, tOffset });
    let lastStepSeen = resume?.step ?? 0;
    bus.events$.subscribe((e) => {
      log.append(e);
      metrics.push(e);
      const d = digest.push(e);
      if (d !== null) {
        lastStepSeen = d.step;
        progress.step(d);
      }
    });
    if (o.feed) {
      try {
        const feed = await o.feed.start({
          bus,
          logPath: eventsPath,
          runId,
          flushLog: () => log.flush(),
          host: o.feed.host,
          port: o.feed.port,
          ...(o.feed.token !== undefined ? { token: o.feed.token } : {}),
        });
        progress.line(`azr run: live feed and dashboard at ${feed.url}`);
        cleanups.push(() => feed.close());
      } catch (e) {
        progress.line(`azr run: the live feed did not start (${(e as Error).message}); running without it`);
      }
    }

    // ---- the base model ------------------------------------------------------------------------------------------
    const buildEvents = new BuildProgressEvents(
      (body) => bus.emit(body),
      s.pretrain.minutes === null ? s.pretrain.steps : null,
      s.pretrain.probeEvery,
    );
    let base: Awaited<ReturnType<typeof ensureBaseModel>>;
    try {
      base = await ensureBaseModel({
        scenario: s,
        cacheDir,
        probeTasks,
        exclusion,
        signal: building.signal,
        ...(s.backend !== null ? { backend: s.backend } : {}),
        onBuild: (dir) =>
          progress.line(`azr run: building the base model (pretrain ${s.pretrain.steps} steps) into ${dir}`),
        onProgress: (p) => {
          buildEvents.push(p);
          if (p.kind === 'probe')
            progress.line(`azr run: pretrain probe @ step ${p.point.step}: ${(100 * p.point.overall).toFixed(1)}%`);
          if (p.kind === 'step' && p.step % 100 === 0)
            progress.line(
              `azr run: pretrain step ${p.step}/${s.pretrain.steps}  loss ${p.loss.toFixed(3)}  ${p.trainSeconds.toFixed(0)} s training`,
            );
        },
      });
    } catch (e) {
      if (!building.signal.aborted) throw e;
      await cleanup();
      return await stoppedBeforeSelfPlay(runDir, resuming, stderr, o.stdout ?? process.stdout, runId);
    }
    if (base.built !== null) buildEvents.built(base.built);
    stopActor = () => undefined; // from here a stop waits for the coordinator (sent once it starts, below)
    const scenario: RunScenario = { ...s, base: base.dir };
    await writeFile(path.join(runDir, 'scenario.yaml'), scenarioYaml(scenario));

    // ---- backend, sandbox, model, learner --------------------------------------------------------------------------
    const backend: BackendReport = await initBackend(s.backend !== null ? { force: s.backend } : {});
    progress.line(`azr run: ${formatBackendReport(backend)}`);
    // the transport the sandbox jobs take (executor.transport): this process's worker threads, or azr workers over NATS
    let pool: SandboxPool | NatsSandbox;
    if (nats !== null) {
      pool = new NatsSandbox(nats, s.executor.nats);
      progress.line(`azr run: executor over NATS at ${s.executor.nats.url}`);
    } else {
      const local = new SandboxPool({ workers: s.executor.workers, limits: { timeoutMs: s.executor.timeoutMs } });
      cleanups.push(() => local.close());
      pool = local;
    }
    // the executor's counters after every step (an emit from a subscriber is queued: it follows step.finished)
    bus.events$.subscribe((e) => {
      if (e.type !== 'step.finished') return;
      const st = pool.stats();
      bus.emit(
        eventBody('executor.stats', {
          runs: st.runs,
          errors: Object.fromEntries(Object.entries(st.errors).filter(([, n]) => n > 0)),
          respawns: st.respawns,
        }),
      );
    });
    const { model, info } = await loadBaseModel(base.dir);
    cleanups.push(() => model.dispose());
    const config = model.config;
    const reference =
      s.learner.klCoef > 0 ? new Gpt(config, model.readWeights(), { trainable: false, name: 'base' }) : undefined;
    if (reference) cleanups.push(() => reference.dispose());
    const learner = new Learner(
      model,
      // the section as parsed (the Learner reads its own fields and ignores the run's schedule and threads)
      { ...s.learner, temperature: s.selfPlay.temperature },
      { ...(reference ? { reference } : {}), now },
    );
    cleanups.push(() => learner.dispose());
    if (resumeModel !== null)
      learner.restore({ weights: resumeModel.model.weights, optimizer: resumeModel.model.optimizer! });

    // the learner's gradient threads (each holds the frozen base too when the KL anchor needs it)
    const threads =
      s.learner.threads > 1
        ? await GradientWorkers.start(
            config,
            backend.chosen,
            s.learner.threads - 1,
            reference ? { reference: reference.readWeights() } : {},
          )
        : undefined;
    if (threads) cleanups.push(() => threads.close());

    const board = new WeightBoard();
    learner.publish(board);
    const rollout = await OrtRollout.create(config, board, { intraOpThreads: s.policy.intraOpThreads });
    cleanups.push(() => rollout.release());
    const evaluator = await ProbeEvaluator.create(probeTasks, pool, config, {
      traceBudgets: s.policy.budgets.trace,
      traceScaffold: s.policy.traceScaffold,
    });
    cleanups.push(() => evaluator.release());
    const rootRng = new Rng(s.seed);
    const sft =
      s.learner.sftCoef > 0
        ? new LabelledSftSource(
            pool,
            rootRng.split('sft'),
            pretrainDataOptions(
              s.pretrain,
              config.contextLength,
              exclusion,
              { batchSize: s.learner.sftBatch, prefetch: 1 },
              'selfPlay',
            ),
          )
        : undefined;
    if (sft) cleanups.push(() => sft.drain());

    // ---- the effects and the coordinator ---------------------------------------------------------------------------
    // the samples of step t's probe draw from one stream per step, so a resumed run samples the same
    const probeRng = rootRng.split('probe-samples');
    const probe: ProbeEffect = {
      async evaluate({ step }) {
        const latest = board.latest()!;
        const samples =
          s.probe.samples > 0
            ? { k: s.probe.samples, temperature: s.selfPlay.temperature, rng: probeRng.split(`step${step}`) }
            : null;
        const r = await evaluator.evaluate(latest.weights, samples);
        return {
          tasks: r.tasks,
          accuracy: r.accuracy,
          byTier: r.byTier,
          traceShare: r.traceShare,
          ...(r.sampled !== undefined ? { sampled: r.sampled } : {}),
          results: r.results,
        };
      },
    };
    const checkpoints = new CheckpointStore({ runDir, learner, flush: () => log.flush(), keep: s.run.keepCheckpoints });
    const channel = new CreditChannel<ScoredRollout>({
      name: 'scored→learner',
      capacity: s.selfPlay.queueCapacity,
      clock: now,
    });
    const policy = new PolicyService(rollout, {
      budgets: s.policy.budgets,
      batchSize: s.policy.rolloutBatch,
      decoding: s.policy.decoding,
      traceScaffold: s.policy.traceScaffold,
    });
    const effects: Effects = {
      policy:
        s.policy.proposer === 'generator'
          ? new GeneratorProposer(policy, { exclusion, version: () => board.latest()?.version ?? 0 })
          : policy,
      // the executor section's checks (rejectInputIgnoring, rejectArgumentCopy, probeInputs) as they are
      executor: new ExecutorService(pool, { ...s.executor, rng: rootRng.split('executor-inputs') }),
      learner: new LearnerService(learner, {
        board,
        ...(sft ? { sft } : {}),
        ...(threads ? { threads } : {}),
        ...(s.learner.warmupSteps > 0 ? { warmup: { lr: s.learner.lr, steps: s.learner.warmupSteps } } : {}),
        ...(s.learner.lrEnd !== undefined
          ? { decay: { from: s.learner.lr, to: s.learner.lrEnd, steps: s.selfPlay.steps } }
          : {}),
      }),
      probe,
      checkpoint: checkpoints,
    };
    const machine = withEffects(o.instrument?.(effects) ?? effects, {
      channel: fromCreditChannel(channel),
      reportQueues: () => bus.emit(queueDepthBody(channel.status())),
      events: bus,
    });

    bus.emit(
      eventBody('run.started', {
        scenario: JSON.parse(JSON.stringify(scenario)) as Record<string, never>,
        backend: backend.chosen,
        versions: versions(),
        resumedFromStep: resume?.step ?? null,
      }),
    );
    progress.line(
      `azr run: ${runId} — ${model.parameterCount.toLocaleString('en-US')} parameters, base ${base.dir}` +
        `${info.probeEnd !== undefined ? ` (pretrain probe ${(100 * info.probeEnd).toFixed(1)}%)` : ''}, ${s.selfPlay.steps} steps`,
    );

    const actor = createActor(machine, {
      id: 'coordinator',
      inspect: actorStateInspector(bus),
      input: { config: coordinatorConfigOf(s), eventSeq: () => bus.nextSeq, clock: now, ...(resume ? { resume } : {}) },
    });
    const done = new Promise<CoordinatorOutput>((resolve, reject) => {
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject });
    });
    stopActor = () => actor.send({ type: 'STOP' });
    actor.start();
    if (stopRequested) stopActor();

    let outcome: RunOutcome;
    try {
      const result = await done;
      bus.emit(eventBody('run.finished', { reason: result.reason, steps: result.steps }));
      outcome = {
        runDir,
        runId,
        reason: result.reason,
        steps: result.steps,
        probes: digest.probes.map((p) => ({ step: p.step, overall: p.overall })),
      };
    } catch (e) {
      const message = (e as Error).message;
      bus.emit(eventBody('run.finished', { reason: 'failed', steps: lastStepSeen, message }));
      outcome = {
        runDir,
        runId,
        reason: 'failed',
        steps: lastStepSeen,
        probes: digest.probes.map((p) => ({ step: p.step, overall: p.overall })),
        message,
      };
    } finally {
      actor.stop();
      log.flush();
    }
    bus.complete();
    progress.stop();
    await writeFile(
      path.join(runDir, 'report.md'),
      renderReport({
        runId,
        scenario,
        reason: outcome.reason,
        steps: outcome.steps,
        backend: backend.chosen,
        base: { path: base.dir, probe: info.probeEnd ?? null },
        probes: digest.probes,
        digests: digest.steps,
        ...(outcome.message !== undefined ? { message: outcome.message } : {}),
      }),
    );
    const first = outcome.probes[0];
    const last = outcome.probes[outcome.probes.length - 1];
    stderr.write(
      `azr run: ${outcome.reason} after ${outcome.steps} steps` +
        (first && last ? `; probe ${(100 * first.overall).toFixed(1)}% → ${(100 * last.overall).toFixed(1)}%` : '') +
        `; ${runDir}${outcome.message ? ` (${outcome.message})` : ''}\n`,
    );
    (o.stdout ?? process.stdout).write(
      JSON.stringify({
        runDir,
        reason: outcome.reason,
        steps: outcome.steps,
        probeStart: first?.overall ?? null,
        probeEnd: last?.overall ?? null,
      }) + '\n',
    );
    return outcome;
  } finally {
    progress.stop();
    await cleanup();
  }
}
