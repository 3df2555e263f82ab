// The executor's worker side over NATS: a member of the `azr.exec` queue group that runs each request's jobs on a
// local Sandbox (a SandboxPool) and answers their results in order.

import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Sandbox } from '../sandbox/tasks.js';
import type { Job } from '../sandbox/types.js';
import { EXEC_QUEUE, EXEC_SUBJECT, type ExecReply } from './natsSandbox.js';

export interface ExecutorWorkerOptions {
  readonly subject?: string;
  /** Requests run at once; more wait in the client's buffer (default 2). */
  readonly concurrency?: number;
}

export interface ExecutorWorker {
  /** Requests answered so far. */
  readonly served: () => number;
  /** Stops taking requests and waits for the ones running. */
  stop(): Promise<void>;
}

/** Serves `azr.exec` requests from `nc` on `sandbox` until stopped. */
export function serveExecutor(nc: NatsConnection, sandbox: Sandbox, o: ExecutorWorkerOptions = {}): ExecutorWorker {
  const sub: Subscription = nc.subscribe(o.subject ?? EXEC_SUBJECT, { queue: EXEC_QUEUE });
  const limit = o.concurrency ?? 2;
  const running = new Set<Promise<void>>();
  let served = 0;
  const loop = (async () => {
    for await (const msg of sub) {
      while (running.size >= limit) await Promise.race(running);
      const p = (async () => {
        let reply: ExecReply;
        try {
          const jobs = msg.json<Job[]>();
          if (!Array.isArray(jobs)) throw new Error('the request is not a list of jobs');
          reply = { results: await sandbox.runBatch(jobs) };
        } catch (e) {
          reply = { error: (e as Error).message };
        }
        msg.respond(JSON.stringify(reply));
        served++;
      })();
      running.add(p);
      void p.finally(() => running.delete(p));
    }
  })();
  return {
    served: () => served,
    async stop() {
      await sub.drain();
      await loop;
      await Promise.all(running);
    },
  };
}
