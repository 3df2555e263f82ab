// A sweep over NATS through the real commands (`azr ablate --nats`, `azr worker`, a real nats-server), with faults: a
// worker killed (-9) mid-run, a worker frozen (SIGSTOP), the server restarted on its store, a duplicate publish, no
// server at all. Each sweep is one tiny run of a few steps; every wait is bounded.
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../src/nats/connection.js';
import { hasObject, JOB_STREAM, jobQueued, openJobQueue } from '../../src/nats/jobQueue.js';
import { azr, ROOT, type AzrProcess } from '../azrProcess.js';
import { invariantViolations, readEvents } from '../run/runHelpers.js';
import { freePort, haveNats, startNatsServer, type NatsServer } from '../support/natsServer.js';
import { waitUntil } from '../support/waitUntil.js';
import { startWorker, type WorkerProcess } from './natsHelpers.js';

const TINY = path.join(ROOT, 'scenarios/tiny.yaml');
const STEPS = 6;

describe.runIf(haveNats)('azr ablate --nats with azr workers', () => {
  let server: NatsServer;
  let dir: string;
  const started: (WorkerProcess | AzrProcess)[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(path.join(tmpdir(), 'azr-natssweep-'));
  });
  afterEach(async () => {
    for (const p of started.splice(0))
      if ('stop' in p) await p.stop();
      else if (p.child.exitCode === null) {
        p.child.kill('SIGKILL');
        await p.exit;
      }
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A one-run sweep of tiny.yaml (its own variant name, so each test has its own sweep id). */
  async function sweepFile(name: string, steps = STEPS): Promise<string> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `base: ${TINY}`,
        `set: { selfPlay.steps: ${steps}, selfPlay.probeEvery: 3, selfPlay.checkpointEvery: 1 }`,
        'seeds: [1]',
        'variants:',
        `  - name: ${name}`,
        '',
      ].join('\n'),
    );
    return file;
  }

  const worker = async (name: string) => {
    // one base-model cache for every worker of the file: the first run builds tiny's base, the others reuse it
    const w = await startWorker(server.url, [
      ...['--jobs', '1', '--executors', '0'],
      ...['--dir', path.join(dir, name), '--cache', path.join(dir, 'cache')],
    ]);
    started.push(w);
    return w;
  };
  const ablate = (sweep: string, out: string) => {
    const p = azr(['ablate', sweep, '--nats', server.url, '--out', out, '--ack-wait', '3']);
    started.push(p);
    return p;
  };
  /** The job id a worker started (from its log). */
  const startedJob = (w: WorkerProcess) => /azr worker: (?:starting|resuming) (\S+)/.exec(w.out.stderr)?.[1];
  /** Resolves once the job's first checkpoint is stored as a snapshot (so a redelivery resumes, not restarts). */
  async function snapshotStored(id: string): Promise<void> {
    const nc = await connectNats(server.url, { name: 'test-observer' });
    try {
      const q = await openJobQueue(nc);
      await waitUntil(() => hasObject(q, `${id}/snapshot/manifest.json`), {
        what: `a snapshot of ${id}`,
        timeoutMs: 120_000,
        intervalMs: 100,
      });
    } finally {
      await nc.close();
    }
  }
  /** The one run directory of the sweep's slot in OUT: its events hold the run invariants. */
  function collectedRun(out: string, variant: string, steps = STEPS): string {
    const slot = path.join(out, variant, 'seed-1');
    const runs = readdirSync(slot).filter((n) => !n.startsWith('.') && n !== 'run.log');
    expect(runs).toHaveLength(1);
    const runDir = path.join(slot, runs[0]!);
    for (const f of ['events.jsonl', 'metrics.csv', 'report.md', 'scenario.yaml'])
      expect(existsSync(path.join(runDir, f)), f).toBe(true);
    expect(readdirSync(path.join(runDir, 'checkpoints'))).toEqual([`step-${steps}`]);
    return runDir;
  }
  const storedOnce = (ws: WorkerProcess[]) =>
    ws.map((w) => w.out.stderr.match(/completed; artefacts stored/g)?.length ?? 0).reduce((a, b) => a + b, 0);

  it('a worker killed (-9) mid-run: its run is redelivered, resumed from the snapshot and completed once', async () => {
    const sweep = await sweepFile('killed');
    const out = path.join(dir, 'out-killed');
    const a = await worker('w-killed-a');
    const b = await worker('w-killed-b');
    const run = ablate(sweep, out);
    const id = await waitUntil(() => startedJob(a) ?? startedJob(b), { what: 'a worker to start the run' });
    await snapshotStored(id);
    const [victim, survivor] = startedJob(a) === id ? [a, b] : [b, a];
    victim.child.kill('SIGKILL'); // the worker alone: its run ends by itself once its parent is gone
    expect(await run.exit, run.out.stderr).toBe(0);
    expect(survivor.out.stderr).toContain(`${id}: resuming from the snapshot another worker stored`);
    expect(storedOnce([survivor])).toBe(1);
    const events = readEvents(collectedRun(out, 'killed'));
    expect(invariantViolations(events, STEPS)).toEqual([]); // gap-free seq, each learner step once
    expect(events.filter((e) => e.type === 'run.finished')).toHaveLength(1);
  }, 240_000);

  it('a frozen worker (SIGSTOP): another worker takes its run and completes it', async () => {
    const sweep = await sweepFile('frozen');
    const out = path.join(dir, 'out-frozen');
    const a = await worker('w-frozen-a');
    const b = await worker('w-frozen-b');
    const run = ablate(sweep, out);
    const id = await waitUntil(() => startedJob(a) ?? startedJob(b), { what: 'a worker to start the run' });
    await snapshotStored(id);
    const [frozen, other] = startedJob(a) === id ? [a, b] : [b, a];
    frozen.signalGroup('SIGSTOP'); // the worker and its run, as a machine that hangs
    expect(await run.exit, run.out.stderr).toBe(0);
    expect(other.out.stderr).toContain(`resuming from the snapshot another worker stored`);
    expect(invariantViolations(readEvents(collectedRun(out, 'frozen')), STEPS)).toEqual([]);
  }, 240_000);

  it('the server restarted on its store mid-sweep: the sweep completes', async () => {
    const sweep = await sweepFile('restarted');
    const out = path.join(dir, 'out-restarted');
    const w = await worker('w-restarted');
    const run = ablate(sweep, out);
    const id = await waitUntil(() => startedJob(w), { what: 'the worker to start the run' });
    await snapshotStored(id);
    await server.restart();
    expect(await run.exit, run.out.stderr).toBe(0);
    expect(storedOnce([w])).toBe(1);
    expect(invariantViolations(readEvents(collectedRun(out, 'restarted')), STEPS)).toEqual([]);
  }, 240_000);

  it('a worker stopped with Ctrl-C hands its run back checkpointed; another worker resumes and completes it', async () => {
    const sweep = await sweepFile('handed');
    const out = path.join(dir, 'out-handed');
    const a = await worker('w-handed-a');
    const b = await worker('w-handed-b');
    const run = ablate(sweep, out);
    const id = await waitUntil(() => startedJob(a) ?? startedJob(b), { what: 'a worker to start the run' });
    await snapshotStored(id);
    const [leaving, staying] = startedJob(a) === id ? [a, b] : [b, a];
    leaving.child.kill('SIGINT');
    expect(await leaving.exit, leaving.out.stderr).toBe(0);
    expect(leaving.out.stderr).toContain(`${id} handed back (checkpointed)`);
    expect(await run.exit, run.out.stderr).toBe(0);
    expect(staying.out.stderr).toContain(`${id}: resuming from the snapshot another worker stored`);
    expect(invariantViolations(readEvents(collectedRun(out, 'handed')), STEPS)).toEqual([]);
  }, 240_000);

  it('a duplicate publish (the same sweep from two commands at once) gives one run', async () => {
    const sweep = await sweepFile('twice');
    const [outA, outB] = [path.join(dir, 'out-twice-a'), path.join(dir, 'out-twice-b')];
    const first = ablate(sweep, outA);
    const second = ablate(sweep, outB);
    await waitUntil(() => /runs? queued/.test(first.out.stderr) && /runs? queued/.test(second.out.stderr), {
      what: 'both commands to publish',
      timeoutMs: 60_000,
    });
    // nothing runs yet (no worker): one job is in the stream
    const nc = await connectNats(server.url, { name: 'test-observer' });
    const q = await openJobQueue(nc);
    const subjects = (await q.jsm.streams.info(JOB_STREAM, { subjects_filter: 'azr.job.>' })).state.subjects ?? {};
    await nc.close();
    expect(Object.entries(subjects).filter(([s]) => s.includes('.twice.'))).toEqual([
      [expect.stringContaining('.twice.s1'), 1],
    ]);
    const w = await worker('w-twice');
    expect(await first.exit, first.out.stderr).toBe(0);
    expect(await second.exit, second.out.stderr).toBe(0);
    expect(w.out.stderr.match(/azr worker: starting/g)).toHaveLength(1);
    expect(readEvents(collectedRun(outA, 'twice'))).toEqual(readEvents(collectedRun(outB, 'twice')));
  }, 240_000);

  it('Ctrl-C stops the sweep cleanly (the run checkpoints and leaves the queue); the same command again resumes it', async () => {
    const steps = 10;
    const sweep = await sweepFile('stopped', steps);
    const out = path.join(dir, 'out-stopped');
    const w = await worker('w-stopped');
    const first = ablate(sweep, out);
    const id = await waitUntil(() => startedJob(w), { what: 'the worker to start the run' });
    await snapshotStored(id);
    first.child.kill('SIGINT');
    expect(await first.exit, first.out.stderr).toBe(130);
    expect(w.out.stderr).toContain(`${id} stopped (its sweep was stopped)`);
    const nc = await connectNats(server.url, { name: 'test-observer' });
    const q = await openJobQueue(nc);
    const left = await jobQueued(q, `azr.job.${id}`);
    await nc.close();
    expect(left).toBe(false);

    const second = ablate(sweep, out);
    expect(await second.exit, second.out.stderr).toBe(0);
    expect(w.out.stderr).toContain(`resuming ${id}`);
    const events = readEvents(collectedRun(out, 'stopped', steps));
    expect(invariantViolations(events, steps)).toEqual([]);
  }, 240_000);

  it('a run that fails on its worker is reported failed (exit 1); the same command again runs it anew', async () => {
    // the probe file is there when azr ablate checks the sweep, gone when the worker runs it
    const probe = path.join(dir, 'probe-copy.jsonl');
    await copyFile(path.join(ROOT, 'scenarios/probe.jsonl'), probe);
    const file = path.join(dir, 'failing.yaml');
    await writeFile(
      file,
      [
        `base: ${TINY}`,
        `set: { selfPlay.steps: 2, selfPlay.checkpointEvery: 1, probe.file: ${probe} }`,
        'seeds: [1]',
        'variants:',
        '  - name: failing',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'out-failing');
    const first = ablate(file, out);
    await waitUntil(() => /runs? queued/.test(first.out.stderr), { what: 'the job to be published' });
    await rm(probe);
    const w = await worker('w-failing');
    expect(await first.exit, first.out.stderr).toBe(1);
    expect(first.out.stderr).toMatch(/failing seed 1 failed \(exit 2 on worker/);
    expect(w.out.stderr).toMatch(/failing\.s1 failed/);

    await copyFile(path.join(ROOT, 'scenarios/probe.jsonl'), probe);
    const second = ablate(file, out);
    expect(await second.exit, second.out.stderr).toBe(0);
    expect(invariantViolations(readEvents(collectedRun(out, 'failing', 2)), 2)).toEqual([]);
  }, 240_000);

  it('no server at start: a clear error, exit 2, nothing written', async () => {
    const sweep = await sweepFile('nobody');
    const out = path.join(dir, 'out-nobody');
    const url = `nats://127.0.0.1:${await freePort()}`;
    const run = azr(['ablate', sweep, '--nats', url, '--out', out]);
    expect(await run.exit).toBe(2);
    expect(run.out.stderr).toContain(`cannot reach a NATS server at ${url}`);
    expect(existsSync(out)).toBe(false);
    const w = azr(['worker', '--nats', url]);
    expect(await w.exit).toBe(2);
    expect(w.out.stderr).toContain(`cannot reach a NATS server at ${url}`);
    const idle = azr(['worker', '--nats', server.url, '--jobs', '0', '--executors', '0']);
    expect(await idle.exit).toBe(2);
    expect(idle.out.stderr).toContain('nothing to do');
  });
});
