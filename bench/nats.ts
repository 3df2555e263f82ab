// `npm run bench -- nats`: executor validations/s in-process against over NATS on loopback (one and two `azr worker`
// processes), and the overhead per request.
//
// In-process: a SandboxPool of one worker thread, as a run with executor.workers 1 has. Over NATS: a NatsSandbox (the
// run's executor with executor.transport nats, default chunk 32 and 8 requests in flight) against `azr worker --jobs 0
// --executors 1` processes on a nats-server started here (Debian's, JetStream off: request/reply needs none). Each
// repetition validates --n distinct tiny programs (default 4000) in batches of --batch (default 64, about a step's
// proposals × inputs), the three setups alternating for --reps repetitions (default 3); medians and ratios against
// in-process, each ratio from the same repetition. Then the overhead per request: p50 of one validation sent alone,
// over NATS minus in-process (after 100 warm-up requests).

import { performance } from 'node:perf_hooks';
import { connectNats } from '../src/nats/connection.js';
import { NatsSandbox } from '../src/nats/natsSandbox.js';
import { SandboxPool } from '../src/sandbox/pool.js';
import type { Sandbox } from '../src/sandbox/tasks.js';
import type { Job } from '../src/sandbox/types.js';
import { startWorker, type WorkerProcess } from '../tests/nats/natsHelpers.js';
import { startNatsServer } from '../tests/support/natsServer.js';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** n distinct programs of four shapes, each validated fully (static check, run twice, compared). */
function jobs(n: number, rep: number): Job[] {
  return Array.from({ length: n }, (_, i): Job => {
    const k = rep * n + i;
    const program = [
      `function f(s) { return s.split('').reverse().join('') + ${k}; }`,
      `function f(a) { return [...a, ${k % 97}].sort((x, y) => x - y); }`,
      `function f(n) { let t = ${k}; for (let i = 0; i < n; i++) t += i; return t; }`,
      `function f(s) { return { len: s.length, k: ${k} }; }`,
    ][i % 4]!;
    const input = ['"absolute"', '[5, 3, 9, 1]', '20', '"zero"'][i % 4]!;
    return { type: 'validate', program, input, staticCheck: true, determinism: true };
  });
}

async function throughput(sb: Sandbox, all: Job[], batch: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += batch) {
    const rs = await sb.runBatch(all.slice(i, i + batch));
    const bad = rs.find((r) => !r.ok);
    if (bad) throw new Error(`a validation failed: ${JSON.stringify(bad)}`);
  }
  return all.length / ((performance.now() - t0) / 1000);
}

async function p50Latency(sb: Sandbox): Promise<number> {
  const job: Job = {
    type: 'validate',
    program: 'function f(x) { return x + 1; }',
    input: '1',
    staticCheck: true,
    determinism: true,
  };
  const times: number[] = [];
  for (let i = 0; i < 600; i++) {
    const t0 = performance.now();
    await sb.run(job);
    if (i >= 100) times.push(performance.now() - t0);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function main(args: string[]): Promise<void> {
  const n = arg(args, 'n', 4000);
  const batch = arg(args, 'batch', 64);
  const reps = arg(args, 'reps', 3);
  const server = await startNatsServer();
  const workers: WorkerProcess[] = [];
  const pool = new SandboxPool({ workers: 1 });
  const nc = await connectNats(server.url, { name: 'bench' });
  try {
    await pool.ready();
    const nats = new NatsSandbox(nc);
    workers.push(await startWorker(server.url, ['--jobs', '0', '--executors', '1']));
    const rows: { local: number; one: number; two: number }[] = [];
    let second: WorkerProcess | null = null;
    for (let rep = 0; rep < reps; rep++) {
      const local = await throughput(pool, jobs(n, 3 * rep), batch);
      if (second !== null) {
        await second.stop();
        workers.pop();
        second = null;
      }
      const one = await throughput(nats, jobs(n, 3 * rep + 1), batch);
      second = await startWorker(server.url, ['--jobs', '0', '--executors', '1']);
      workers.push(second);
      const two = await throughput(nats, jobs(n, 3 * rep + 2), batch);
      rows.push({ local, one, two });
      console.log(
        `rep ${rep + 1}: in-process ${local.toFixed(0)}/s · NATS, 1 worker ${one.toFixed(0)}/s (×${(one / local).toFixed(2)}) · 2 workers ${two.toFixed(0)}/s (×${(two / local).toFixed(2)})`,
      );
    }
    if (second !== null) {
      await second.stop();
      workers.pop();
    }
    const localMs = await p50Latency(pool);
    const natsMs = await p50Latency(nats);
    const med = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f));
    console.log(
      `validations/s (median of ${reps}, ${n} programs in batches of ${batch}): in-process (1 thread) ${med((r) => r.local).toFixed(0)}, ` +
        `NATS 1 worker ${med((r) => r.one).toFixed(0)}, NATS 2 workers ${med((r) => r.two).toFixed(0)}`,
    );
    console.log(
      `ratio to in-process (median of per-repetition ratios): 1 worker ×${med((r) => r.one / r.local).toFixed(2)}, 2 workers ×${med((r) => r.two / r.local).toFixed(2)}`,
    );
    console.log(
      `one validation alone, p50: in-process ${localMs.toFixed(3)} ms, over NATS ${natsMs.toFixed(3)} ms: overhead ${(natsMs - localMs).toFixed(3)} ms per request`,
    );
    console.log(
      JSON.stringify({
        bench: 'nats',
        ratio1: Number(med((r) => r.one / r.local).toFixed(3)),
        ratio2: Number(med((r) => r.two / r.local).toFixed(3)),
        overheadMs: Number((natsMs - localMs).toFixed(3)),
      }),
    );
  } finally {
    for (const w of workers) await w.stop();
    await nc.close();
    await pool.close();
    await server.close();
  }
}
