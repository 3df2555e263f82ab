// The executor over NATS: the task contract against a real nats-server and executor workers, the same canonical
// outputs as the in-process pool, a retry on another worker when one dies, the bound on requests in flight.
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, NatsUnreachableError } from '../../src/nats/connection.js';
import { serveExecutor, type ExecutorWorker } from '../../src/nats/executorWorker.js';
import { EXEC_QUEUE, NatsSandbox } from '../../src/nats/natsSandbox.js';
import type { SandboxPool } from '../../src/sandbox/pool.js';
import type { Job } from '../../src/sandbox/types.js';
import {
  freePort,
  haveNats,
  MISSING_NATS,
  requireNats,
  startNatsServer,
  type NatsServer,
} from '../support/natsServer.js';
import { testPool, validateJob } from '../sandbox/helpers.js';
import { describeTaskContract } from '../sandbox/taskContract.js';

it.runIf(requireNats && !haveNats)('requires nats-server when AZR_REQUIRE_NATS=1', () => {
  expect.fail(MISSING_NATS);
});

describe.runIf(haveNats)('the executor over NATS', () => {
  let server: NatsServer;
  let pool: SandboxPool;
  let workerConn: NatsConnection;
  let worker: ExecutorWorker;
  let clientConn: NatsConnection;
  let sandbox: NatsSandbox;

  beforeAll(async () => {
    server = await startNatsServer();
    pool = testPool();
    await pool.ready();
    workerConn = await connectNats(server.url, { name: 'test-worker' });
    worker = serveExecutor(workerConn, pool);
    clientConn = await connectNats(server.url, { name: 'test-client' });
    sandbox = new NatsSandbox(clientConn, { chunk: 3, timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await worker?.stop();
    await workerConn?.close();
    await clientConn?.close();
    await pool?.close();
    await server?.close();
  });

  describe('the task contract', () => {
    describeTaskContract(() => sandbox);
  });

  it('gives the pool’s results, job for job, over several chunks (order kept)', async () => {
    const jobs: Job[] = [
      validateJob('function f(a, b) { return { sum: a + b, parts: [a, b] }; }', '2, 3'),
      validateJob('function f() { return Date.now(); }'),
      validateJob('function f(x) { while (true) {} }', '1'),
      { type: 'evaluate', expression: 'new Set([2, 1, 2])', staticCheck: true },
      { type: 'check', program: 'function f(s) { return s.length; }', input: '"abc"', gold: '3', staticCheck: true },
      validateJob('const seen = []; function f(x) { seen.push(x); return seen.length; }', '1'),
      validateJob('function f(x) { return x.y.z; }', '{}'),
    ];
    const local = await pool.runBatch(jobs);
    expect(await sandbox.runBatch(jobs)).toEqual(local);
    expect(await sandbox.run(jobs[0]!)).toEqual(local[0]);
    expect(sandbox.stats().errors.banned).toBeGreaterThan(0);
  });

  it('sends a request again to another worker when the one that took it dies', async () => {
    // the first worker on the subject takes the request and dies without answering; the request times out and goes
    // to the worker that is there by then
    const subject = 'azr.exec.dying';
    const deadConn = await connectNats(server.url, { name: 'dying-worker' });
    let swallowed = 0;
    let live: ExecutorWorker | undefined;
    deadConn.subscribe(subject, {
      queue: EXEC_QUEUE,
      callback: () => {
        swallowed++;
        void deadConn.close().then(() => (live = serveExecutor(workerConn, pool, { subject })));
      },
    });
    await deadConn.flush();
    const retrying = new NatsSandbox(clientConn, { subject, timeoutMs: 1500, retries: 2 });
    const jobs = ['1', '2', '3'].map((i) => validateJob('function f(x) { return x * 2; }', i));
    const results = await retrying.runBatch(jobs);
    await live?.stop();
    expect(results).toEqual(await pool.runBatch(jobs));
    expect(swallowed).toBe(1);
    expect(retrying.stats().respawns).toBe(1);
  });

  it('keeps at most maxInFlight requests out at once', async () => {
    const subject = 'azr.exec.bounded';
    const conn = await connectNats(server.url, { name: 'slow-worker' });
    let open = 0;
    let most = 0;
    conn.subscribe(subject, {
      callback: (_, msg) => {
        open++;
        most = Math.max(most, open);
        const jobs = msg.json<Job[]>();
        setTimeout(() => {
          open--;
          msg.respond(JSON.stringify({ results: jobs.map(() => ({ ok: true, output: '0' })) }));
        }, 30);
      },
    });
    await conn.flush();
    const bounded = new NatsSandbox(clientConn, { subject, chunk: 1, maxInFlight: 2 });
    const results = await bounded.runBatch(Array.from({ length: 10 }, () => validateJob('function f() { return 0; }')));
    await conn.close();
    expect(results).toHaveLength(10);
    expect(most).toBe(2);
  });

  it('answers crashed, the executor’s own error, when no worker answers within the retries', async () => {
    const lonely = new NatsSandbox(clientConn, { subject: 'azr.exec.nobody', timeoutMs: 300, retries: 1 });
    const [r] = await lonely.runBatch([validateJob('function f() { return 1; }')]);
    expect(r).toMatchObject({ ok: false, error: { kind: 'crashed' } });
  });
});

describe.runIf(haveNats)('the executor over NATS across a server restart', () => {
  it('answers a batch sent while the server restarts, once client and worker have reconnected', async () => {
    const server = await startNatsServer();
    const pool = testPool({ workers: 1 });
    const workerConn = await connectNats(server.url, { name: 'test-worker' });
    const clientConn = await connectNats(server.url, { name: 'test-client' });
    const worker = serveExecutor(workerConn, pool);
    try {
      const sandbox = new NatsSandbox(clientConn, { timeoutMs: 3000, retries: 5 });
      const jobs = ['1', '2', '3'].map((i) => validateJob('function f(x) { return [x, x]; }', i));
      const expected = await pool.runBatch(jobs);
      expect(await sandbox.runBatch(jobs)).toEqual(expected);
      await server.stop();
      const during = sandbox.runBatch(jobs); // sent while no server is there
      await server.restart();
      expect(await during).toEqual(expected);
    } finally {
      await worker.stop();
      await workerConn.close();
      await clientConn.close();
      await pool.close();
      await server.close();
    }
  });
});

it('names the URL when no server is reachable', async () => {
  const port = await freePort();
  await expect(connectNats(`nats://127.0.0.1:${port}`, { name: 'nobody', timeoutMs: 1000 })).rejects.toThrow(
    NatsUnreachableError,
  );
  await expect(connectNats(`nats://127.0.0.1:${port}`, { name: 'nobody', timeoutMs: 1000 })).rejects.toThrow(
    `127.0.0.1:${port}`,
  );
});
