// `azr run` with executor.transport nats: validation, grading, the probe and the supervised labels run on an
// `azr worker` process, and a sync run logs the same events as with the in-process pool.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/streams/events.js';
import { haveNats, startNatsServer, type NatsServer } from '../support/natsServer.js';
import { azrRun, comparable, invariantViolations, ofType, readEvents, runDirs } from '../run/runHelpers.js';
import { startWorker, type WorkerProcess } from './natsHelpers.js';

/** The events from run.started on, without seq (the first run also logs its base-model build) and the transport. */
function selfPlay(events: readonly RunEvent[]): string[] {
  const from = events.findIndex((e) => e.type === 'run.started');
  return comparable(events.slice(from)).map((line) => {
    const e = JSON.parse(line) as Record<string, unknown> & { scenario?: { executor?: Record<string, unknown> } };
    delete e['seq'];
    if (e.scenario?.executor) {
      delete e.scenario.executor['transport'];
      delete e.scenario.executor['nats'];
    }
    return JSON.stringify(e);
  });
}

describe.runIf(haveNats)('azr run over NATS (executor.transport: nats)', () => {
  let server: NatsServer;
  let worker: WorkerProcess;
  let out: string;

  beforeAll(async () => {
    server = await startNatsServer();
    out = await mkdtemp(path.join(tmpdir(), 'azr-natsrun-'));
    worker = await startWorker(server.url, ['--jobs', '0', '--executors', '1']);
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    await rm(out, { recursive: true, force: true });
  });

  it('logs the same events as with the in-process pool (a sync run is deterministic whichever transport)', async () => {
    const local = await azrRun(['scenarios/tiny.yaml', '--out', out, '--no-feed']);
    expect(local.code, local.stderr).toBe(0);
    const localDir = runDirs(out)[0]!;
    const remote = await azrRun([
      'scenarios/tiny.yaml',
      '--out',
      out,
      '--no-feed',
      '--set',
      'executor.transport=nats',
      '--set',
      `executor.nats.url=${server.url}`,
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stderr).toContain(`executor over NATS at ${server.url}`);
    const remoteDir = runDirs(out).find((d) => d !== localDir)!;
    const events = readEvents(remoteDir);
    expect(invariantViolations(events, 4)).toEqual([]);
    // every sandbox job went over NATS: the run's own executor counted them, none crashed
    const stats = ofType(events, 'executor.stats');
    expect(stats.at(-1)!.runs).toBeGreaterThan(0);
    expect(stats.some((s) => 'crashed' in s.errors)).toBe(false);
    expect(selfPlay(events)).toEqual(selfPlay(readEvents(localDir)));
  }, 180_000);

  it('refuses to start when the server cannot be reached: exit 2, no run directory', async () => {
    const before = runDirs(out);
    const r = await azrRun([
      'scenarios/tiny.yaml',
      '--out',
      out,
      '--no-feed',
      '--set',
      'executor.transport=nats',
      '--set',
      'executor.nats.url=nats://127.0.0.1:1',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot reach a NATS server at nats://127.0.0.1:1');
    expect(runDirs(out)).toEqual(before);
  });
});
