// The executor pool: QuickJS worker threads fed with batches, a bounded queue, a wall-clock watchdog, counters.
//
// Jobs submitted one by one are coalesced (one setImmediate tick) and sent in batches, because a message round trip
// costs as much as a small program and batching is what lets two workers scale. Each worker publishes, in a shared
// slot, which job of its batch it is running; a main-thread watchdog terminates a worker stuck on one job for more
// than `wallClockMs` (QuickJS's interrupt cannot fire inside long native built-ins), fails only that job, re-queues
// the rest of the batch ahead of newer work, and starts a replacement worker.

import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { guestSources } from './guestSources.js';
import { DEFAULT_BANNED } from './defaultBanned.js';
import { quickJsWasm, startSandboxWorker, workerBundle } from './workerSource.js';
import {
  DEFAULT_JOBS_PER_CONTEXT,
  ERROR_KINDS,
  err,
  type BannedRule,
  type EngineOptions,
  type ErrorKind,
  type FromWorker,
  type Isolation,
  type Job,
  type RunResult,
  type SandboxLimits,
  type ToWorker,
  type WorkerConfig,
  resolveLimits,
} from './types.js';

export interface PoolOptions {
  /** Worker threads; default: the number of cores. */
  workers?: number;
  /** Resource limits; each missing field takes its default (DEFAULT_LIMITS). */
  limits?: Partial<SandboxLimits>;
  /** Banned capabilities for the static check; default DEFAULT_BANNED. */
  banned?: readonly BannedRule[];
  /** How programs are isolated from each other; default 'hardened' (see Isolation). */
  isolation?: Isolation;
  /** Hardened mode: jobs per shared context before it is replaced anyway; default 10,000. */
  jobsPerContext?: number;
  /** Most jobs per message to one worker; default 64. */
  maxBatch?: number;
  /** Most jobs waiting for a worker; beyond it `run` answers `overloaded` at once. Default 100,000. */
  maxQueued?: number;
}

/** Counters since the pool started (a snapshot; cheap to read at any time). */
export interface PoolStats {
  workers: number;
  /** Jobs answered (ok or not). */
  runs: number;
  ok: number;
  errors: Record<ErrorKind, number>;
  /** Workers started to replace one that was killed or died. */
  respawns: number;
  /** Workers terminated by the wall-clock watchdog. */
  watchdogKills: number;
  /** Workers that died on their own (crash, abort). */
  crashes: number;
  /** Jobs sent again after their worker was replaced. */
  requeued: number;
  batches: number;
  queued: number;
  inFlight: number;
}

interface Pending {
  job: Job;
  resolve: (r: RunResult) => void;
  attempts: number;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  batch: Pending[] | null;
  batchId: number;
  progress: Int32Array;
  watchBatch: number;
  watchIndex: number;
  watchSince: number;
}

const MAX_ATTEMPTS = 3;
const MAX_START_FAILURES = 3;

export { resolveLimits } from './types.js';

export class SandboxPool {
  readonly limits: SandboxLimits;
  readonly banned: readonly BannedRule[];
  readonly isolation: Isolation;
  private readonly engine: EngineOptions;
  private readonly size: number;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private slots: Slot[] = [];
  private queue: Pending[] = [];
  private head = 0;
  private retry: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private broken: string | null = null;
  private startFailures = 0;
  private batchSeq = 0;
  private readonly watchdog: NodeJS.Timeout;
  private readyWaiters: Array<() => void> = [];
  /** The worker bundle (null: start workers through tsx); undefined until known. */
  private source: URL | null | undefined;
  private started = false;
  private wasm: WebAssembly.Module | null = null;
  private readonly counters: Omit<PoolStats, 'queued' | 'inFlight' | 'workers'>;

  constructor(options: PoolOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.banned = options.banned ?? DEFAULT_BANNED;
    this.isolation = options.isolation ?? 'hardened';
    if (this.isolation !== 'hardened' && this.isolation !== 'fresh')
      throw new RangeError(`isolation must be 'hardened' or 'fresh', got ${String(this.isolation)}`);
    const jobsPerContext = Math.max(1, Math.floor(options.jobsPerContext ?? DEFAULT_JOBS_PER_CONTEXT));
    this.engine = {
      limits: this.limits,
      banned: [...this.banned],
      isolation: this.isolation,
      jobsPerContext,
      guest: guestSources(),
    };
    this.size = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
    this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 64));
    this.maxQueued = Math.max(1, Math.floor(options.maxQueued ?? 100_000));
    this.counters = {
      runs: 0,
      ok: 0,
      errors: Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>,
      respawns: 0,
      watchdogKills: 0,
      crashes: 0,
      requeued: 0,
      batches: 0,
    };
    void Promise.all([workerBundle(), quickJsWasm()]).then(([source, wasm]) => {
      this.source = source;
      this.wasm = wasm;
      this.started = true;
      if (this.closed) return;
      for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
    });
    const tick = Math.max(5, Math.min(100, Math.floor(this.limits.wallClockMs / 5)));
    this.watchdog = setInterval(() => this.watch(), tick);
    this.watchdog.unref();
  }

  /** Resolves once every worker has started (QuickJS loaded), or the pool gave up starting them. */
  ready(): Promise<void> {
    if (this.closed || this.broken || (this.started && this.slots.every((s) => s.ready))) return Promise.resolve();
    this.watchdog.ref(); // someone is waiting: hold the process until the workers are up
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Runs one job. Never rejects: every failure is a result with `ok: false`. */
  run(job: Job): Promise<RunResult> {
    return new Promise((resolve) => this.submit(job, resolve));
  }

  /**
   * Runs one job and calls `done` with its result (exactly once; at once when the pool is closed, broken or full):
   * `run` without a promise per job, for callers that stream many jobs (`azr exec`).
   */
  submit(job: Job, done: (r: RunResult) => void): void {
    if (this.closed) return done(this.count(err('crashed', 'the sandbox pool is closed')));
    if (this.broken) return done(this.count(err('crashed', this.broken)));
    if (this.queuedCount() >= this.maxQueued)
      return done(this.count(err('overloaded', `the sandbox queue is full (${this.maxQueued} jobs waiting)`)));
    this.queue.push({ job, resolve: done, attempts: 0 });
    this.watchdog.ref();
    this.schedule();
  }

  /** Runs jobs; results in the same order. */
  runBatch(jobs: readonly Job[]): Promise<RunResult[]> {
    return Promise.all(jobs.map((j) => this.run(j)));
  }

  stats(): PoolStats {
    return {
      ...this.counters,
      errors: { ...this.counters.errors },
      workers: this.size,
      queued: this.queuedCount(),
      inFlight: this.slots.reduce((n, s) => n + (s.batch?.length ?? 0), 0),
    };
  }

  /** Stops the workers; jobs not yet answered get a `crashed` result. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    const closing = err('crashed', 'the sandbox pool was closed before this job ran');
    for (const p of this.drainQueued()) p.resolve(this.count(closing));
    const slots = this.slots;
    this.slots = [];
    await Promise.all(
      slots.map((s) => {
        s.dead = true;
        for (const p of s.batch ?? []) p.resolve(this.count(closing));
        s.batch = null;
        return s.worker.terminate();
      }),
    );
    for (const w of this.readyWaiters.splice(0)) w();
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────────────────────────

  private queuedCount(): number {
    return this.queue.length - this.head + this.retry.length;
  }

  private count(r: RunResult): RunResult {
    this.counters.runs++;
    if (r.ok) this.counters.ok++;
    else this.counters.errors[r.error.kind]++;
    return r;
  }

  /**
   * The watchdog timer doubles as the pool's hold on the process: referenced while any job waits or runs (so a
   * caller awaiting a result is not cut short, even while workers start), unreferenced when the pool is idle (so an
   * idle pool never keeps a process alive). Workers themselves are always unreferenced.
   */
  private idleCheck(): void {
    if (this.readyWaiters.length === 0 && this.queuedCount() === 0 && this.slots.every((s) => s.batch === null))
      this.watchdog.unref();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private take(n: number): Pending[] {
    const out = this.retry.splice(0, n);
    while (out.length < n && this.head < this.queue.length) {
      out.push(this.queue[this.head]!);
      this.queue[this.head++] = undefined as unknown as Pending;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private drainQueued(): Pending[] {
    return this.take(this.queuedCount());
  }

  private dispatch(): void {
    if (this.closed) return;
    const idle = this.slots.filter((s) => s.ready && !s.dead && s.batch === null);
    let queued = this.queuedCount();
    for (let k = 0; k < idle.length && queued > 0; k++) {
      const share = Math.min(this.maxBatch, Math.ceil(queued / (idle.length - k)));
      const batch = this.take(share);
      queued -= batch.length;
      const slot = idle[k]!;
      slot.batch = batch;
      slot.batchId = ++this.batchSeq;
      this.counters.batches++;
      const msg: ToWorker = { type: 'batch', id: slot.batchId, jobs: batch.map((p) => p.job) };
      slot.worker.postMessage(msg);
    }
  }

  private spawn(): Slot {
    const progress = new SharedArrayBuffer(4);
    const config: WorkerConfig = { engine: this.engine, wasm: this.wasm, progress };
    const worker = startSandboxWorker(this.source ?? null, config);
    const slot: Slot = {
      worker,
      ready: false,
      dead: false,
      batch: null,
      batchId: 0,
      progress: new Int32Array(progress),
      watchBatch: 0,
      watchIndex: 0,
      watchSince: 0,
    };
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (e) => this.onDeath(slot, `the sandbox worker failed: ${e.message}`));
    worker.on('exit', (code) => this.onDeath(slot, `the sandbox worker exited (code ${code})`));
    worker.unref(); // after the listeners: adding a 'message' listener references the worker's port again
    return slot;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (slot.dead) return;
    if (msg.type === 'ready') {
      slot.ready = true;
      this.startFailures = 0;
      if (this.started && this.slots.every((s) => s.ready)) for (const w of this.readyWaiters.splice(0)) w();
      this.dispatch();
      this.idleCheck();
    } else if (msg.type === 'results') {
      const batch = slot.batch;
      if (batch === null || msg.id !== slot.batchId) return;
      slot.batch = null;
      for (let i = 0; i < batch.length; i++)
        batch[i]!.resolve(this.count(msg.results[i] ?? err('crashed', 'the worker returned no result')));
      this.dispatch();
      this.idleCheck();
    } else if (msg.type === 'fatal') {
      this.onDeath(slot, msg.message);
    }
  }

  /** A worker died on its own: fail the job it was running, re-queue the others, replace it. */
  private onDeath(slot: Slot, why: string): void {
    if (slot.dead || this.closed) return;
    slot.dead = true;
    void slot.worker.terminate();
    if (!slot.ready) this.startFailures++;
    else this.counters.crashes++;
    this.failBatch(slot, Atomics.load(slot.progress, 0) - 1, err('crashed', why));
    this.replace(slot, why);
  }

  /** The watchdog: a worker that has shown the same running job for longer than wallClockMs is terminated. */
  private watch(): void {
    const now = performance.now();
    for (const slot of this.slots) {
      if (slot.dead || slot.batch === null) continue;
      const index = Atomics.load(slot.progress, 0);
      if (index === 0) continue;
      if (slot.watchBatch !== slot.batchId || slot.watchIndex !== index) {
        slot.watchBatch = slot.batchId;
        slot.watchIndex = index;
        slot.watchSince = now;
      } else if (now - slot.watchSince > this.limits.wallClockMs) {
        slot.dead = true;
        this.counters.watchdogKills++;
        void slot.worker.terminate();
        this.failBatch(
          slot,
          index - 1,
          err(
            'timeout',
            `exceeded the ${this.limits.wallClockMs} ms wall-clock limit (stuck in a native built-in?); its worker was restarted`,
          ),
        );
        this.replace(slot, 'watchdog');
      }
    }
  }

  private failBatch(slot: Slot, index: number, error: RunResult): void {
    const batch = slot.batch;
    slot.batch = null;
    if (batch === null) return;
    const again: Pending[] = [];
    batch.forEach((p, i) => {
      if (i === index) p.resolve(this.count(error));
      else if (++p.attempts >= MAX_ATTEMPTS)
        p.resolve(this.count(err('crashed', 'its worker died repeatedly while it waited in a batch')));
      else again.push(p);
    });
    this.counters.requeued += again.length;
    this.retry = again.concat(this.retry);
    this.idleCheck();
  }

  private replace(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    if (this.startFailures >= MAX_START_FAILURES) {
      this.broken = `the sandbox workers cannot start: ${why}`;
      this.slots.splice(i, 1);
      const broken = err('crashed', this.broken);
      if (this.slots.every((s) => s.dead)) for (const p of this.drainQueued()) p.resolve(this.count(broken));
      for (const w of this.readyWaiters.splice(0)) w();
      this.idleCheck();
      return;
    }
    this.counters.respawns++;
    this.slots[i] = this.spawn();
    this.schedule();
  }
}
