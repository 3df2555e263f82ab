// `npm run bench -- feed`: what watching costs the run — step time with 50 reading clients + 1 stalled over step time with none.
//
// Default: a real run. `azr run scenarios/tiny.yaml` in this process (runSelfPlay, the feed started by the run as
// `--port 0` does, with its default limits), with `--steps` self-play steps (default 8; the base model is built once
// into bench/out/feed-cache). Step time is each `step.finished` event's `durationMs`, the first step of every run left
// out (it carries one-time warm-up). In the loaded condition the 50 readers (in a worker thread, as other processes
// would be) and the stalled client (handshake, subscribe from seq 0, never reads again) connect before the run's first
// event; "none" has the feed running with no client. Conditions alternate run by run (order flipped every rep) after
// one warm-up run of each; `stepTimeRatio` is the median of the per-rep ratios of median step times (pairing cancels
// the slow drifts of a shared machine); pooled medians are printed beside it. Note: a tiny run logs ~90 KB, which
// the kernel's socket buffers take whole, so the stalled client never reaches the server's own bound here (its
// stats are printed); tests/feed/realRun.load.test.ts exercises that path.
//
// `--synthetic`: the earlier measurement on a synthetic run (tests/support/syntheticRun.ts), described below.
//
// Synthetic: per step it emits the volume of
// the measured self-play loop (33 proposals, 162 scored rollouts, queue depths and actor states: about 240 events,
// 47 KB) through a real EventBus → EventLog (events.jsonl) → feed, interleaved with a fixed amount of CPU work that
// stands in for sampling and learning (`--work-ms` of CPU time, calibrated once to loop iterations, so the feed's
// own cost is not absorbed). Both conditions have the feed running; "none" has no client connected. The 50 readers run in a
// worker thread (as they would run in other processes: their parsing is not the run's cost); the stalled client
// completes the handshake, subscribes from seq 0 and never reads again.
//
// Conditions alternate rep by rep (order flipped every rep) after one warm-up of each. Each rep gives a paired ratio
// of median step times; `stepTimeRatio` is the median of those ratios (pairing cancels the slow drifts of a shared
// machine), the pooled medians are printed beside it, and so is the run thread's own CPU time per step (from
// /proc), which separates the feed's cost from the readers' when both share few cores. Last line:
// {"bench":"feed","stepTimeRatio":…} (target ≤ 1.10).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runSelfPlay } from '../src/run/runner.js';
import type { StartFeed } from '../src/run/runner.js';
import { startFeed } from '../src/feed/feedServer.js';
import type { FeedClientStats } from '../src/feed/feedConnection.js';
import { StalledClient, startLoadReaders } from '../tests/support/loadReaders.js';
import type { LoadReaderStats } from '../tests/support/loadReaders.js';
import { createSyntheticRun } from '../tests/support/syntheticRun.js';
import { loadRunScenario, parseOverride } from '../src/config/load.js';

interface Args {
  steps: number;
  reps: number;
  clients: number;
  workMs: number;
}

function parseArgs(args: string[]): Args {
  const out: Args = { steps: 12, reps: 5, clients: 50, workMs: 400 };
  for (let i = 0; i < args.length; i++) {
    const key = args[i];
    const value = Number(args[i + 1]);
    const set = (k: keyof Args) => {
      if (!Number.isFinite(value) || value < 0) throw new Error(`${key} needs a number`);
      out[k] = value;
      i += 1;
    };
    if (key === '--steps') set('steps');
    else if (key === '--reps') set('reps');
    else if (key === '--clients') set('clients');
    else if (key === '--work-ms') set('workMs');
    else throw new Error(`unknown argument ${key} (use --steps N --reps N --clients N --work-ms MS)`);
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A CPU loop whose iteration count is fixed after calibration, so it costs the same work whatever else runs. */
function calibrateWork(): (ms: number) => () => void {
  let sink = 0;
  const spin = (n: number) => {
    let x = sink;
    for (let i = 0; i < n; i++) x = (x * 1664525 + 1013904223 + i) | 0;
    sink = x;
  };
  spin(1e6);
  // Calibrated against this process's CPU time (only this thread runs now), not wall time: on a busy machine a
  // wall-clock calibration would shrink the work.
  const n = 1e8;
  const t0 = process.cpuUsage();
  spin(n);
  const used = process.cpuUsage(t0);
  const perMs = n / ((used.user + used.system) / 1000);
  return (ms) => {
    const iterations = Math.round(perMs * ms);
    return () => spin(iterations);
  };
}

/** CPU time (ms) of the calling thread — the run's thread — from /proc (Linux); null elsewhere. */
function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (CLK_TCK = 100)
  } catch {
    return null;
  }
}

interface RepResult {
  stepMs: number[];
  /** The run thread's CPU time per step (excludes the readers' thread and other processes). */
  cpuMsPerStep: number | null;
  totalMs: number;
  stalled?: { bytesSent: number; skipping: boolean; eventsSkipped: number; disconnected: boolean };
  maxClientPendingBytes: number;
  readersComplete?: boolean;
}

async function rep(withClients: boolean, a: Args, work: () => void): Promise<RepResult> {
  const dir = mkdtempSync(join(tmpdir(), 'azr-bench-feed-'));
  try {
    const run = createSyntheticRun({ dir, steps: a.steps, work, eventsPerChunk: 24, clock: () => performance.now() });
    const feed = await startFeed({
      bus: run.bus,
      logPath: run.logPath,
      runId: run.runId,
      port: 0,
      flushLog: () => run.log.flush(),
    });
    const readers = withClients ? startLoadReaders(feed.wsUrl, a.clients) : null;
    const stalled = withClients ? new StalledClient(feed.port, { op: 'subscribe', fromSeq: 0 }) : null;
    await readers?.ready;
    await stalled?.subscribed;
    const stepMs: number[] = [];
    let last = performance.now();
    const start = last;
    const cpu0 = threadCpuMs();
    await run.run(() => {
      const now = performance.now();
      stepMs.push(now - last);
      last = now;
    });
    const totalMs = performance.now() - start;
    const cpu1 = threadCpuMs();
    const cpuMsPerStep = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / a.steps : null;
    const result: RepResult = {
      stepMs,
      cpuMsPerStep,
      totalMs,
      maxClientPendingBytes: feed.stats().maxClientPendingBytes,
    };
    if (readers !== null) {
      const end = run.bus.nextSeq;
      const seen = await Promise.race([
        readers.until((r) => r.next === end || r.closed !== null),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000)),
      ]);
      result.readersComplete =
        seen !== null && seen.every((r) => r.next === end && r.duplicates === 0 && r.outOfOrder === 0);
      const stats = feed.stats();
      const stalledStats = stats.clients.find((c) => c.id === a.clients + 1);
      result.stalled = {
        bytesSent: stalledStats?.bytesSent ?? -1,
        skipping: stalledStats?.skipping ?? false,
        eventsSkipped: stalledStats?.eventsSkipped ?? 0,
        disconnected: stalledStats === undefined,
      };
      await readers.close();
    }
    stalled?.destroy();
    await feed.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function syntheticMain(args: string[]): Promise<void> {
  const a = parseArgs(args);
  const makeWork = calibrateWork();
  const work = makeWork(a.workMs / 10);
  process.stdout.write(
    `feed bench: synthetic run, ${a.steps} steps × ~240 events, ${a.workMs} ms of CPU work a step, ` +
      `${a.clients} readers + 1 stalled vs none, ${a.reps} alternating reps\n`,
  );
  // Warm-up (JIT, sockets, worker start), not counted.
  await rep(false, { ...a, steps: 3 }, work);
  await rep(true, { ...a, steps: 3 }, work);

  const none: number[] = [];
  const loaded: number[] = [];
  const cpuNone: number[] = [];
  const cpuLoaded: number[] = [];
  const ratios: number[] = [];
  let lastLoaded: RepResult | null = null;
  for (let r = 0; r < a.reps; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    const results: Record<string, RepResult> = {};
    for (const withClients of order) results[withClients ? 'loaded' : 'none'] = await rep(withClients, a, work);
    const n = results['none']!;
    const l = results['loaded']!;
    lastLoaded = l;
    none.push(...n.stepMs);
    loaded.push(...l.stepMs);
    if (n.cpuMsPerStep !== null) cpuNone.push(n.cpuMsPerStep);
    if (l.cpuMsPerStep !== null) cpuLoaded.push(l.cpuMsPerStep);
    ratios.push(median(l.stepMs) / median(n.stepMs));
    process.stdout.write(
      `rep ${r + 1}: step median none ${median(n.stepMs).toFixed(1)} ms, with clients ${median(l.stepMs).toFixed(1)} ms ` +
        `(×${ratios[r]!.toFixed(3)}); run-thread CPU a step ${n.cpuMsPerStep?.toFixed(1)} vs ${l.cpuMsPerStep?.toFixed(1)} ms; readers complete ${l.readersComplete}; stalled client sent ${l.stalled?.bytesSent} B` +
        `${l.stalled?.skipping ? `, skipping (${l.stalled.eventsSkipped} events)` : ''}${l.stalled?.disconnected ? ', disconnected' : ''}; ` +
        `max client queue ${l.maxClientPendingBytes} B\n`,
    );
  }
  const mNone = median(none);
  const mLoaded = median(loaded);
  const ratio = mLoaded / mNone;
  process.stdout.write(
    `step time ratio, median of paired reps: ×${median(ratios).toFixed(3)} (target ≤ 1.10); pooled medians: none ${mNone.toFixed(1)} ms, ` +
      `${a.clients} readers + 1 stalled ${mLoaded.toFixed(1)} ms → ×${ratio.toFixed(3)}\n`,
  );
  const cpuRatio = cpuNone.length > 0 && cpuLoaded.length > 0 ? median(cpuLoaded) / median(cpuNone) : null;
  if (cpuRatio !== null)
    process.stdout.write(
      `run-thread CPU a step: none ${median(cpuNone).toFixed(1)} ms, with clients ${median(cpuLoaded).toFixed(1)} ms → ×${cpuRatio.toFixed(3)} ` +
        `(the feed's own cost; wall step time also carries the readers' CPU on this machine's shared cores)\n`,
    );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'feed',
      stepTimeRatio: Number(median(ratios).toFixed(4)),
      pooledRatio: Number(ratio.toFixed(4)),
      stepMsNone: Number(mNone.toFixed(2)),
      stepMsLoaded: Number(mLoaded.toFixed(2)),
      runThreadCpuRatio: cpuRatio === null ? null : Number(cpuRatio.toFixed(4)),
      clients: a.clients,
      stalled: 1,
      steps: a.steps,
      reps: a.reps,
      workMsPerStep: a.workMs,
      readersComplete: lastLoaded?.readersComplete ?? null,
      run: 'synthetic',
    })}\n`,
  );
}

// ---- the real run -----------------------------------------------------------------------------------------------

const TINY = fileURLToPath(new URL('../scenarios/tiny.yaml', import.meta.url));
const CACHE = fileURLToPath(new URL('./out/feed-cache', import.meta.url));

interface RealArgs {
  steps: number;
  reps: number;
  clients: number;
}

function parseRealArgs(args: string[]): RealArgs {
  const out: RealArgs = { steps: 8, reps: 3, clients: 50 };
  for (let i = 0; i < args.length; i++) {
    const key = args[i];
    const value = Number(args[i + 1]);
    const set = (k: keyof RealArgs) => {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${key} needs a positive integer`);
      out[k] = value;
      i += 1;
    };
    if (key === '--steps') set('steps');
    else if (key === '--reps') set('reps');
    else if (key === '--clients') set('clients');
    else
      throw new Error(
        `unknown argument ${key} (use --steps N --reps N --clients N, or --synthetic [--steps N --reps N --clients N --work-ms MS])`,
      );
  }
  if (out.steps < 2) throw new Error('--steps must be at least 2 (the first step is left out)');
  return out;
}

interface RealRep {
  /** durationMs of every step.finished but the first. */
  stepMs: number[];
  totalMs: number;
  events: number;
  readers?: LoadReaderStats[];
  stalled?: { stats: FeedClientStats | null; disconnectedSlow: number };
  maxClientPendingBytes: number;
}

async function realRep(withClients: boolean, a: RealArgs): Promise<RealRep> {
  const out = mkdtempSync(join(tmpdir(), 'azr-bench-feed-'));
  try {
    const scenario = await loadRunScenario(TINY, [
      parseOverride(`run.cacheDir=${CACHE}`),
      parseOverride(`selfPlay.steps=${a.steps}`),
    ]);
    const stepMs: number[] = [];
    let events = 0;
    let result: Omit<RealRep, 'stepMs' | 'totalMs' | 'events'> = { maxClientPendingBytes: 0 };
    const start: StartFeed = async (options) => {
      options.bus.events$.subscribe((e) => {
        events += 1;
        if (e.type === 'step.finished' && e.step > 1) stepMs.push(e.durationMs);
      });
      const feed = await startFeed(options);
      const readers = withClients ? startLoadReaders(feed.wsUrl, a.clients) : null;
      await readers?.ready;
      const stalled = withClients ? new StalledClient(feed.port, { op: 'subscribe', fromSeq: 0 }) : null;
      await stalled?.subscribed;
      const stalledId = feed.stats().connectionsTotal;
      return {
        url: feed.url,
        close: async () => {
          const stats = feed.stats();
          result = { maxClientPendingBytes: stats.maxClientPendingBytes };
          if (readers !== null) {
            const end = options.bus.nextSeq;
            const seen = await Promise.race([
              readers.until((r) => r.next === end || r.closed !== null),
              new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000)),
            ]);
            result.readers = seen ?? (await readers.report());
            result.stalled = {
              stats: stats.clients.find((c) => c.id === stalledId) ?? null,
              disconnectedSlow: stats.disconnectedSlow,
            };
            await readers.close();
          }
          stalled?.destroy();
          await feed.close();
        },
      };
    };
    const t0 = performance.now();
    const outcome = await runSelfPlay({
      scenario,
      out,
      stderr: new PassThrough().resume(),
      stdout: new PassThrough().resume(),
      tty: false,
      signals: false,
      feed: { start, host: '127.0.0.1', port: 0 },
    });
    if (outcome.reason !== 'completed')
      throw new Error(`the tiny run did not complete: ${outcome.reason} ${outcome.message ?? ''}`);
    return { stepMs, totalMs: performance.now() - t0, events, ...result };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function realMain(args: string[]): Promise<void> {
  const a = parseRealArgs(args);
  process.stdout.write(
    `feed bench: real run (scenarios/tiny.yaml, ${a.steps} steps, in process, feed with default limits), ` +
      `${a.clients} readers + 1 stalled vs none, ${a.reps} alternating reps; step time = step.finished durationMs, step 1 left out\n`,
  );
  // Warm-up (base model build on first use, JIT, worker start), not counted.
  await realRep(false, { ...a, steps: 2 });
  await realRep(true, { ...a, steps: 2 });

  const none: number[] = [];
  const loaded: number[] = [];
  const ratios: number[] = [];
  let readersComplete = true;
  let lastLoaded: RealRep | null = null;
  for (let r = 0; r < a.reps; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    const results: Record<string, RealRep> = {};
    for (const withClients of order) results[withClients ? 'loaded' : 'none'] = await realRep(withClients, a);
    const n = results['none']!;
    const l = results['loaded']!;
    lastLoaded = l;
    none.push(...n.stepMs);
    loaded.push(...l.stepMs);
    ratios.push(median(l.stepMs) / median(n.stepMs));
    const complete =
      l.readers !== undefined &&
      l.readers.every((x) => x.next === l.events && x.finished && x.duplicates === 0 && x.outOfOrder === 0);
    readersComplete &&= complete;
    const st = l.stalled?.stats;
    process.stdout.write(
      `rep ${r + 1}: step median none ${median(n.stepMs).toFixed(0)} ms, with clients ${median(l.stepMs).toFixed(0)} ms (×${ratios[r]!.toFixed(3)}); ` +
        `run ${(n.totalMs / 1000).toFixed(1)} s vs ${(l.totalMs / 1000).toFixed(1)} s; ${l.events} events; readers complete ${complete}; ` +
        `stalled client: ${st ? `sent ${st.bytesSent} B, pending ${st.pendingBytes} B, skipped ${st.eventsSkipped}` : 'gone'}` +
        `${l.stalled?.disconnectedSlow ? ', disconnected' : ''}; max client queue ${l.maxClientPendingBytes} B\n`,
    );
  }
  const mNone = median(none);
  const mLoaded = median(loaded);
  process.stdout.write(
    `step time ratio, median of paired reps: ×${median(ratios).toFixed(3)} (target ≤ 1.10); pooled medians: none ${mNone.toFixed(0)} ms, ` +
      `${a.clients} readers + 1 stalled ${mLoaded.toFixed(0)} ms → ×${(mLoaded / mNone).toFixed(3)}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'feed',
      stepTimeRatio: Number(median(ratios).toFixed(4)),
      pooledRatio: Number((mLoaded / mNone).toFixed(4)),
      repRatios: ratios.map((x) => Number(x.toFixed(4))),
      stepMsNone: Number(mNone.toFixed(1)),
      stepMsLoaded: Number(mLoaded.toFixed(1)),
      clients: a.clients,
      stalled: 1,
      steps: a.steps,
      stepsMeasuredPerRun: a.steps - 1,
      reps: a.reps,
      readersComplete,
      eventsPerRun: lastLoaded?.events ?? null,
      run: 'real:scenarios/tiny.yaml',
    })}\n`,
  );
}

export async function main(args: string[]): Promise<void> {
  if (args[0] === '--synthetic') await syntheticMain(args.slice(1));
  else await realMain(args);
}
