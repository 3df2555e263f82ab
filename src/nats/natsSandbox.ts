// A Sandbox whose jobs run on executor workers reached over NATS (request/reply in a queue group): the seam the
// ExecutorService, the probe and the supervised data already use, so none of them knows where the jobs run.
//
//   runBatch(jobs) ─ chunks of `chunk` jobs ─→ at most `maxInFlight` requests at once ─→ `azr.exec` (queue group)
//                  ←─ results in job order (each worker runs them with the same SandboxPool code) ─┘
//
// A request that times out (its worker died or stopped) is sent again, and NATS hands it to another member of the
// queue group; while no worker is subscribed at all, a request waits for one (up to its timeout). What still fails
// after `retries` answers `crashed`, the executor's own error kind, which the machines drop like a dead pool worker.

import { TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import type { Sandbox } from '../sandbox/tasks.js';
import { ERROR_KINDS, type ErrorKind, type Job, type RunResult } from '../sandbox/types.js';

/** The subject executor workers serve and the queue group they share. */
export const EXEC_SUBJECT = 'azr.exec';
export const EXEC_QUEUE = 'azr-executors';

export interface NatsSandboxOptions {
  readonly subject?: string;
  /** Most milliseconds one request may take before it is sent to another worker (default 30000). */
  readonly timeoutMs?: number;
  /** Requests sent again after a timeout before the jobs answer `crashed` (default 2). */
  readonly retries?: number;
  /** Jobs per request (default 32): a batch is spread over the workers in chunks this size. */
  readonly chunk?: number;
  /** Requests in flight at once, over all batches: the bound on work handed out (default 8). */
  readonly maxInFlight?: number;
}

/** Counters since the transport started, in the shape of the pool's (`executor.stats`). */
export interface NatsSandboxStats {
  runs: number;
  errors: Record<ErrorKind, number>;
  /** Requests sent again after a timeout (a worker died or stopped). */
  respawns: number;
  requests: number;
}

/** What a worker answers: the results in job order, or why it could not run them. */
export type ExecReply = { results: RunResult[] } | { error: string };

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class NatsSandbox implements Sandbox {
  private readonly subject: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly chunk: number;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly counters: NatsSandboxStats = {
    runs: 0,
    errors: Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>,
    respawns: 0,
    requests: 0,
  };

  constructor(
    private readonly nc: NatsConnection,
    o: NatsSandboxOptions = {},
  ) {
    this.subject = o.subject ?? EXEC_SUBJECT;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.retries = o.retries ?? 2;
    this.chunk = o.chunk ?? 32;
    this.maxInFlight = o.maxInFlight ?? 8;
  }

  async run(job: Job): Promise<RunResult> {
    return (await this.runBatch([job]))[0]!;
  }

  async runBatch(jobs: readonly Job[]): Promise<RunResult[]> {
    const chunks: Job[][] = [];
    for (let i = 0; i < jobs.length; i += this.chunk) chunks.push(jobs.slice(i, i + this.chunk));
    const answered = await Promise.all(chunks.map((c) => this.limited(() => this.send(c))));
    const results = answered.flat();
    for (const r of results) {
      this.counters.runs++;
      if (!r.ok) this.counters.errors[r.error.kind]++;
    }
    return results;
  }

  stats(): NatsSandboxStats {
    return { ...this.counters, errors: { ...this.counters.errors } };
  }

  /** Runs `f` once fewer than `maxInFlight` requests are out. */
  private async limited<T>(f: () => Promise<T>): Promise<T> {
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    try {
      return await f();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** One chunk: sent until a worker answers it, at most 1 + retries times (waiting while no worker is there). */
  private async send(jobs: Job[]): Promise<RunResult[]> {
    const payload = JSON.stringify(jobs);
    let why = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) this.counters.respawns++;
      const start = performance.now();
      for (;;) {
        this.counters.requests++;
        try {
          const msg = await this.nc.request(this.subject, payload, { timeout: this.timeoutMs });
          const reply = msg.json<ExecReply>();
          if ('results' in reply && Array.isArray(reply.results) && reply.results.length === jobs.length)
            return reply.results;
          why = 'error' in reply ? reply.error : 'a malformed answer';
          break;
        } catch (e) {
          why = (e as Error).message;
          const timedOut = e instanceof TimeoutError || (e as Error).cause instanceof TimeoutError;
          // no worker subscribed yet, or the server is restarting: wait for one within this attempt's time
          if (!timedOut && performance.now() - start < this.timeoutMs) {
            await pause(100);
            continue;
          }
          break;
        }
      }
    }
    const error = { kind: 'crashed' as const, message: `no executor worker answered over NATS (${why})` };
    return jobs.map(() => ({ ok: false, error }));
  }
}
