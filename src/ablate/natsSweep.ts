// A sweep over NATS JetStream: `azr ablate --nats` publishes each variant × seed as a durable job; `azr worker`s pull
// them and run each with `azr run` semantics; the run artefacts come back through the object store.
//
//   azr ablate ─ publish (msgID sweep/variant/seed) ─→ AZR_JOBS ─→ azr worker: `azr run` child, working() heartbeats
//              ←─ <job>/final/* (events.jsonl, metrics.csv, report.md, scenario.yaml, final checkpoint) ─┘
//   while it runs, each new checkpoint goes up as <job>/snapshot/* (scenario.yaml, events.jsonl, metrics.csv, the
//   checkpoint): a job redelivered to another worker (its first died or stopped) resumes from it with `azr run --resume`
//
// Exactly once: a worker acks a job only after its final manifest is stored, and a job whose final manifest exists is
// acked at once without running (a redelivery or a duplicate). Ctrl-C on `azr ablate` marks the sweep stopped (its
// `round` goes up, so the next invocation's jobs are new messages), purges its queued jobs, and the workers stop its
// running ones cleanly (checkpoint, snapshot) and drop them; the same command again publishes what is unfinished.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseRunScenarioText, scenarioYaml } from '../config/load.js';
import type { RunScenario } from '../config/schema.js';
import { finishedCompleted, followRun, slotRunDir, slotState } from './slots.js';
import {
  deleteObject,
  getBytes,
  getJson,
  hasObject,
  openJobQueue,
  publishJob,
  purgeJobs,
  putBytes,
  putJson,
  subjectToken,
  type JobQueue,
} from '../nats/jobQueue.js';

/** What a job message carries: everything a worker needs to run one variant × seed. */
export interface SweepJob {
  readonly sweep: string;
  readonly variant: string;
  readonly seed: number;
  /** The variant's resolved scenario (YAML, run.cacheDir null: each worker caches base models where it runs). */
  readonly scenario: string;
  readonly round: number;
}

/** What `<sweep>/state` holds: whether the sweep is stopped, and how many times it was. */
export interface SweepState {
  readonly stopped: boolean;
  readonly round: number;
}

/** Files of a run directory stored under a prefix, and the run directory's name. */
export interface RunManifest {
  readonly runDirName: string;
  /** Where the files are: `<prefix>/<version>/<file>`. */
  readonly version: string;
  readonly step: number;
  readonly files: readonly string[];
}

export const PROGRESS_SUBJECT = 'azr.progress';

/** What workers say about a running job (core NATS, on azr.progress.<sweep>): its step, or that it stopped. */
interface Progress {
  readonly job: string;
  readonly step: number;
  readonly stopped?: boolean;
}

/** The sweep's id: its name and a digest of its variants' scenarios (a changed sweep is another sweep). */
export function sweepId(name: string, variants: readonly { name: string; text: string }[]): string {
  const h = createHash('sha256');
  for (const v of variants) h.update(`${v.name}\n${v.text}\n`);
  return `${subjectToken(name)}-${h.digest('hex').slice(0, 10)}`;
}

export const jobId = (sweep: string, variant: string, seed: number) => `${sweep}.${subjectToken(variant)}.s${seed}`;
export const jobSubject = (id: string) => `azr.job.${id}`;
export const sweepSubjects = (sweep: string) => `azr.job.${sweep}.>`;
const stateName = (sweep: string) => `${sweep}/state`;
const finalPrefix = (id: string) => `${id}/final`;
const snapshotPrefix = (id: string) => `${id}/snapshot`;
const failedName = (id: string) => `${id}/failed`;

export async function sweepState(q: JobQueue, sweep: string): Promise<SweepState> {
  return (await getJson<SweepState>(q, stateName(sweep))) ?? { stopped: false, round: 0 };
}
export const setSweepState = (q: JobQueue, sweep: string, s: SweepState) => putJson(q, stateName(sweep), s);

// ---- run directories ----------------------------------------------------------------------------------------------

/** The newest complete checkpoint of a run directory (checkpoints/step-N is renamed into place whole). */
function latestCheckpoint(runDir: string): { step: number; dir: string } | null {
  const dir = path.join(runDir, 'checkpoints');
  if (!existsSync(dir)) return null;
  let best: { step: number; dir: string } | null = null;
  for (const n of readdirSync(dir)) {
    const m = /^step-(\d+)$/.exec(n);
    if (m && (best === null || Number(m[1]) > best.step)) best = { step: Number(m[1]), dir: path.join(dir, n) };
  }
  return best;
}

/**
 * Stores the run's files (and a checkpoint) under `prefix`/<version>/, then the manifest naming that version: a
 * manifest always names a complete set, even with two workers on one job (one of them wrongly thought dead). The
 * version this writer stored before is deleted once the manifest no longer names it.
 */
async function uploadRun(
  q: JobQueue,
  prefix: string,
  runDir: string,
  step: number,
  names: string[],
  previous: { version: string; files: readonly string[] } | null = null,
): Promise<{ version: string; files: string[] }> {
  const version = `${process.pid}-${path.basename(runDir)}-${step}`;
  const files: string[] = [];
  for (const name of names) {
    const file = path.join(runDir, name);
    if (!existsSync(file)) continue;
    await putBytes(q, `${prefix}/${version}/${name}`, await readFile(file));
    files.push(name);
  }
  await putJson(q, `${prefix}/manifest.json`, {
    runDirName: path.basename(runDir),
    version,
    step,
    files,
  } satisfies RunManifest);
  if (previous !== null && previous.version !== version)
    for (const name of previous.files) await deleteObject(q, `${prefix}/${previous.version}/${name}`).catch(() => {});
  return { version, files };
}

function checkpointFiles(runDir: string, ckpt: { dir: string } | null): string[] {
  if (ckpt === null) return [];
  const rel = path.relative(runDir, ckpt.dir);
  return readdirSync(ckpt.dir).map((n) => `${rel}/${n}`);
}

/** Writes the files stored under `prefix` into `slot/<runDirName>/`; the run directory, or null when none is stored. */
async function downloadRun(q: JobQueue, prefix: string, slot: string): Promise<string | null> {
  const manifest = await getJson<RunManifest>(q, `${prefix}/manifest.json`);
  if (manifest === null) return null;
  const runDir = path.join(slot, manifest.runDirName);
  const tmp = path.join(slot, `.tmp-${manifest.runDirName}`);
  await rm(tmp, { recursive: true, force: true });
  for (const name of manifest.files) {
    const data = await getBytes(q, `${prefix}/${manifest.version}/${name}`);
    if (data === null) throw new Error(`${prefix}/${manifest.version}/${name} is missing from the object store`);
    await mkdir(path.dirname(path.join(tmp, name)), { recursive: true });
    await writeFile(path.join(tmp, name), data);
  }
  await rm(runDir, { recursive: true, force: true });
  await mkdir(slot, { recursive: true });
  await rename(tmp, runDir);
  return runDir;
}

// ---- the publisher's side (azr ablate --nats) -----------------------------------------------------------------------

export interface RemoteSweepJob {
  readonly variant: string;
  readonly seed: number;
  readonly slot: string;
  readonly scenario: RunScenario;
  state: 'pending' | 'running' | 'completed' | 'failed' | 'stopped';
  step: number;
  message?: string;
}

export interface RemoteSweepOptions {
  readonly nc: NatsConnection;
  readonly sweep: string;
  readonly jobs: RemoteSweepJob[];
  readonly ackWaitMs?: number;
  readonly say: (line: string) => void;
  readonly update: () => void;
  /** How many Ctrl-Cs so far (0: running). */
  readonly stopping: () => number;
  /** How often the store is looked at for finished runs (ms; default 500). */
  readonly pollMs?: number;
}

/**
 * Publishes the sweep's unfinished jobs and waits until each has its artefacts in its slot (or failed), or until a
 * Ctrl-C: then the sweep is marked stopped and its queued jobs purged, and the running ones are awaited (at most
 * 60 s) while their workers checkpoint them.
 */
export async function runRemoteSweep(o: RemoteSweepOptions): Promise<void> {
  const q = await openJobQueue(o.nc, o.ackWaitMs !== undefined ? { ackWaitMs: o.ackWaitMs } : {});
  const ids = new Map(o.jobs.map((j) => [j, jobId(o.sweep, j.variant, j.seed)]));
  // a new round after a stop or a failure: the jobs published again are new messages (not dropped as duplicates)
  const before = await sweepState(q, o.sweep);
  let failedBefore = false;
  for (const j of o.jobs) if (await hasObject(q, failedName(ids.get(j)!))) failedBefore = true;
  const round = before.stopped || failedBefore ? before.round + 1 : before.round;
  if (round !== before.round) await setSweepState(q, o.sweep, { stopped: false, round });
  const byId = new Map(o.jobs.map((j) => [ids.get(j)!, j]));
  // progress lines of the workers (core NATS: lost while nobody listens, which is fine for a progress bar)
  const progress = o.nc.subscribe(`${PROGRESS_SUBJECT}.${o.sweep}`, {
    callback: (_, m) => {
      const p = m.json<Progress>();
      const j = byId.get(p.job);
      if (j === undefined || j.state === 'completed') return;
      if (p.stopped) j.state = 'stopped';
      else {
        j.state = 'running';
        j.step = p.step;
      }
      o.update();
    },
  });
  try {
    for (const j of o.jobs) {
      if (j.state === 'completed') continue;
      const id = ids.get(j)!;
      if (await collected(q, id, j, o)) continue;
      // a run that failed in an earlier invocation is tried again (as without --nats: it resumes where it can)
      await deleteObject(q, failedName(id));
      const body: SweepJob = {
        sweep: o.sweep,
        variant: j.variant,
        seed: j.seed,
        scenario: scenarioYaml({ ...j.scenario, run: { ...j.scenario.run, cacheDir: null } }),
        round,
      };
      await publishJob(q, jobSubject(id), `${o.sweep}/${j.variant}/${j.seed}/r${round}`, body);
    }
    o.say(`azr ablate: ${o.jobs.filter((j) => j.state !== 'completed').length} runs queued for the workers`);
    const pollMs = o.pollMs ?? 500;
    while (o.stopping() === 0 && o.jobs.some((j) => j.state === 'pending' || j.state === 'running')) {
      await new Promise((r) => setTimeout(r, pollMs));
      for (const j of o.jobs) if (j.state === 'pending' || j.state === 'running') await collect(q, ids.get(j)!, j, o);
    }
    if (o.stopping() > 0) {
      await setSweepState(q, o.sweep, { stopped: true, round });
      await purgeJobs(q, sweepSubjects(o.sweep));
      // the running ones: their workers checkpoint them, store a snapshot and say so (at most 60 s)
      if (o.jobs.some((j) => j.state === 'running'))
        o.say('azr ablate: waiting for the running runs to checkpoint (Ctrl-C again to leave at once)');
      for (let i = 0; i < 120 && o.stopping() < 2 && o.jobs.some((j) => j.state === 'running'); i++)
        await new Promise((r) => setTimeout(r, 500));
      for (const j of o.jobs) if (j.state === 'running' || j.state === 'pending') j.state = 'stopped';
    }
  } finally {
    progress.unsubscribe();
  }
}

/** Whether the job is finished: its artefacts downloaded into its slot (completed), or its failure recorded. */
async function collect(q: JobQueue, id: string, j: RemoteSweepJob, o: RemoteSweepOptions): Promise<boolean> {
  if (await collected(q, id, j, o)) return true;
  const failed = await getJson<{ message: string }>(q, failedName(id));
  if (failed !== null) {
    j.state = 'failed';
    j.message = failed.message;
    o.say(`azr ablate: ${j.variant} seed ${j.seed} failed (${failed.message})`);
    return true;
  }
  return false;
}

/** Whether the job completed: then its artefacts are downloaded into its slot. */
async function collected(q: JobQueue, id: string, j: RemoteSweepJob, o: RemoteSweepOptions): Promise<boolean> {
  if (await hasObject(q, `${finalPrefix(id)}/manifest.json`)) {
    await rm(j.slot, { recursive: true, force: true });
    await downloadRun(q, finalPrefix(id), j.slot);
    j.state = 'completed';
    j.step = j.scenario.selfPlay.steps;
    o.say(`azr ablate: ${j.variant} seed ${j.seed} completed`);
    o.update();
    return true;
  }
  return false;
}

// ---- the worker's side (azr worker --jobs J) ------------------------------------------------------------------------

export interface SweepWorkerOptions {
  readonly nc: NatsConnection;
  /** Runs at once. */
  readonly jobs: number;
  /** Where the worker's run directories live. */
  readonly workDir: string;
  /** Where its runs cache base models (default <workDir>/.cache; workers of one machine may share one). */
  readonly cacheDir?: string;
  /** bin/azr.js. */
  readonly azrBin: string;
  /** A preload module that ends a run when its worker is gone (see exitWithParent.mjs). */
  readonly preload: string;
  readonly say: (line: string) => void;
}

interface Running {
  readonly id: string;
  readonly child: ChildProcess;
  stopReason: 'worker' | 'sweep' | null;
}

/** Pulls sweep jobs and runs them until `stop()`; a stop checkpoints the running ones and hands them back. */
export class SweepWorker {
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private loop: Promise<void> | null = null;
  private q: JobQueue | null = null;
  completed = 0;

  private readonly cacheDir: string;

  constructor(private readonly o: SweepWorkerOptions) {
    this.cacheDir = path.resolve(o.cacheDir ?? path.join(o.workDir, '.cache'));
  }

  async start(): Promise<void> {
    this.q = await openJobQueue(this.o.nc);
    this.loop = this.pull();
  }

  /** Asks the running runs to stop cleanly (each checkpoints, stores a snapshot, hands its job back); waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.running.values()) {
      r.stopReason ??= 'worker';
      r.child.kill('SIGINT');
    }
    await this.loop;
  }

  private async pull(): Promise<void> {
    const q = this.q!;
    const tasks = new Set<Promise<void>>();
    while (!this.stopping) {
      if (tasks.size >= this.o.jobs) {
        await Promise.race(tasks);
        continue;
      }
      let msg: JsMsg | null = null;
      try {
        msg = await q.consumer.next({ expires: 2000 });
      } catch {
        await new Promise((r) => setTimeout(r, 500)); // the server is restarting: try again
        continue;
      }
      if (msg === null) continue;
      if (this.stopping) {
        msg.nak();
        break;
      }
      const t = this.handle(q, msg).catch((e: unknown) => {
        this.o.say(`azr worker: a job failed in the worker: ${(e as Error).message}`);
        msg.nak(1000);
      });
      tasks.add(t);
      void t.finally(() => tasks.delete(t));
    }
    await Promise.all(tasks);
  }

  private async handle(q: JobQueue, msg: JsMsg): Promise<void> {
    const job = msg.json<SweepJob>();
    const id = jobId(job.sweep, job.variant, job.seed);
    if (await hasObject(q, `${finalPrefix(id)}/manifest.json`)) {
      await ackAck(msg); // done before (a redelivery, a duplicate): nothing to run again
      return;
    }
    if ((await sweepState(q, job.sweep)).stopped) {
      msg.term('the sweep is stopped');
      return;
    }
    const slot = path.join(this.o.workDir, 'jobs', id);
    msg.working(); // the job is ours while its snapshot is fetched
    let st = slotState(slot);
    if (st.kind === 'fresh') {
      const restored = await downloadRun(q, snapshotPrefix(id), slot);
      if (restored !== null) {
        await ensureBase(restored, this.cacheDir);
        st = slotState(slot);
        this.o.say(`azr worker: ${id}: resuming from the snapshot another worker stored`);
      }
    }
    if (st.kind === 'done') {
      await this.finish(q, msg, id, st.runDir);
      return;
    }
    let args: string[];
    if (st.kind === 'resume') args = ['run', '--resume', st.runDir, '--no-feed'];
    else {
      await rm(slot, { recursive: true, force: true });
      await mkdir(slot, { recursive: true });
      const s = parseRunScenarioText(job.scenario, `${id}.yaml`);
      const file = path.join(slot, 'scenario.yaml');
      await writeFile(file, scenarioYaml({ ...s, run: { ...s.run, cacheDir: this.cacheDir } }));
      args = ['run', file, '--no-feed', '--seed', String(job.seed), '--out', slot];
    }
    this.o.say(`azr worker: ${st.kind === 'resume' ? 'resuming' : 'starting'} ${id}`);
    const log = createWriteStream(path.join(slot, 'run.log'), { flags: 'a' });
    log.write(`# azr worker: azr ${args.join(' ')}\n`);
    const child = spawn(process.execPath, ['--import', this.o.preload, this.o.azrBin, ...args], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.progress(job.sweep, { job: id, step: 0 });
    const run: Running = { id, child, stopReason: this.stopping ? 'worker' : null };
    this.running.set(id, run);
    if (run.stopReason !== null) child.kill('SIGINT');
    followRun(child, log, (step) => this.progress(job.sweep, { job: id, step }));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    // while it runs: heartbeats (the job stays ours), new checkpoints stored as snapshots, a stopped sweep noticed
    let snapshotStep = -1;
    let stored: { version: string; files: string[] } | null = null;
    let ticking = false;
    const tick = async () => {
      if (ticking) return;
      ticking = true;
      try {
        msg.working();
        const runDir = slotRunDir(slot);
        const ckpt = runDir === null ? null : latestCheckpoint(runDir);
        if (runDir !== null && ckpt !== null && ckpt.step > snapshotStep) {
          stored = await uploadSnapshot(q, id, runDir, ckpt, stored);
          snapshotStep = ckpt.step;
        }
        if (run.stopReason === null && (await sweepState(q, job.sweep)).stopped) {
          run.stopReason = 'sweep';
          child.kill('SIGINT');
        }
      } catch {
        // a checkpoint pruned while it was read, or the server restarting: the next tick tries again
      } finally {
        ticking = false;
      }
    };
    const timer = setInterval(() => void tick(), Math.max(200, Math.min(1000, q.ackWaitMs / 3)));
    await exited;
    clearInterval(timer);
    while (ticking) await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((resolve) => log.end(resolve));
    this.running.delete(id);
    const runDir = slotRunDir(slot);
    if (runDir !== null && finishedCompleted(runDir)) {
      await this.finish(q, msg, id, runDir);
      return;
    }
    if (runDir !== null) {
      const ckpt = latestCheckpoint(runDir);
      if (ckpt !== null && ckpt.step > snapshotStep) stored = await uploadSnapshot(q, id, runDir, ckpt, stored);
    }
    if (run.stopReason === 'sweep') {
      this.o.say(`azr worker: ${id} stopped (its sweep was stopped)`);
      msg.term('the sweep is stopped');
      this.progress(job.sweep, { job: id, step: snapshotStep, stopped: true });
    } else if (run.stopReason === 'worker') {
      this.o.say(`azr worker: ${id} handed back (checkpointed)`);
      msg.nak();
    } else {
      const tail = existsSync(path.join(slot, 'run.log'))
        ? (await readFile(path.join(slot, 'run.log'), 'utf8')).split('\n').slice(-6).join('\n')
        : '';
      const message = `exit ${child.exitCode ?? child.signalCode} on worker ${process.pid}: ${tail}`;
      await putJson(q, failedName(id), { message });
      this.o.say(`azr worker: ${id} failed (${message})`);
      msg.term('the run failed');
    }
  }

  private progress(sweep: string, p: Progress): void {
    try {
      this.o.nc.publish(`${PROGRESS_SUBJECT}.${sweep}`, JSON.stringify(p));
    } catch {
      // progress is best effort (the connection may be closing)
    }
  }

  /** Stores the final artefacts (unless another worker already did) and acks the job. */
  private async finish(q: JobQueue, msg: JsMsg, id: string, runDir: string): Promise<void> {
    if (!(await hasObject(q, `${finalPrefix(id)}/manifest.json`))) {
      const ckpt = latestCheckpoint(runDir);
      await uploadRun(q, finalPrefix(id), runDir, ckpt?.step ?? 0, [
        'events.jsonl',
        'metrics.csv',
        'report.md',
        'scenario.yaml',
        ...checkpointFiles(runDir, ckpt),
      ]);
      this.completed++;
      this.o.say(`azr worker: ${id} completed; artefacts stored`);
      // the last snapshot is not needed any more (the final checkpoint is stored)
      const snap = await getJson<RunManifest>(q, `${snapshotPrefix(id)}/manifest.json`).catch(() => null);
      if (snap !== null) {
        for (const name of snap.files)
          await deleteObject(q, `${snapshotPrefix(id)}/${snap.version}/${name}`).catch(() => {});
        await deleteObject(q, `${snapshotPrefix(id)}/manifest.json`).catch(() => {});
      }
    }
    await ackAck(msg);
  }
}

async function uploadSnapshot(
  q: JobQueue,
  id: string,
  runDir: string,
  ckpt: { step: number; dir: string },
  previous: { version: string; files: readonly string[] } | null,
) {
  return uploadRun(
    q,
    snapshotPrefix(id),
    runDir,
    ckpt.step,
    ['scenario.yaml', 'events.jsonl', 'metrics.csv', ...checkpointFiles(runDir, ckpt)],
    previous,
  );
}

/**
 * A snapshot from another machine names that machine's base-model directory: where it is not here, the base is built
 * again from the scenario (pretraining is seeded: the same base) into this worker's cache.
 */
async function ensureBase(runDir: string, cacheDir: string): Promise<void> {
  const file = path.join(runDir, 'scenario.yaml');
  const s = parseRunScenarioText(await readFile(file, 'utf8'), file);
  if (s.base !== null && !existsSync(path.join(s.base, 'checkpoint.json')) && /[/\\]base-[0-9a-f]+$/.test(s.base))
    await writeFile(file, scenarioYaml({ ...s, base: null, run: { ...s.run, cacheDir } }));
}

/** Acks and waits for the server's word (a restarting server: tried again, at most about 30 s). */
async function ackAck(msg: JsMsg): Promise<void> {
  for (let i = 0; i < 60; i++) {
    try {
      if (await msg.ackAck({ timeout: 2000 })) return;
    } catch {
      // not confirmed: try again
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
