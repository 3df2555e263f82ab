// The worker pool: batching, order, counters, the bounded queue, and surviving killed workers without losing or
// duplicating any other request.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SandboxPool } from '../../src/sandbox/pool.js';
import type { Job } from '../../src/sandbox/types.js';
import { waitUntil } from '../support/waitUntil.js';
import { testPool, validateJob } from './helpers.js';

const STUCK = 'function f() { return Array.prototype.indexOf.call({ length: 2 ** 40 }, 1); }';
const normal = (i: number): Job => validateJob(`function f(x) { return [x, ${i}]; }`, `"job${i}"`);
const normalOutput = (i: number) => `["job${i}", ${i}]`;

describe('SandboxPool', () => {
  it('answers a batch in order across workers, coalescing single submissions into batches', async () => {
    const pool = testPool({ workers: 2, maxBatch: 16 });
    try {
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => pool.run(normal(i))));
      results.forEach((r, i) => expect(r).toEqual({ ok: true, output: normalOutput(i) }));
      const stats = pool.stats();
      expect(stats.runs).toBe(100);
      expect(stats.ok).toBe(100);
      expect(stats.batches).toBeLessThan(100);
      expect(stats.batches).toBeGreaterThanOrEqual(Math.ceil(100 / 16));
      expect(stats.queued).toBe(0);
      expect(stats.inFlight).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('survives workers stuck in native code: fails only those jobs, loses and duplicates nothing', async () => {
    const pool = testPool({ workers: 2, maxBatch: 32, limits: { wallClockMs: 600 } });
    try {
      const jobs: Job[] = [];
      const stuckAt = new Set([5, 40, 77]);
      for (let i = 0; i < 120; i++) jobs.push(stuckAt.has(i) ? validateJob(STUCK, '', { validate: false }) : normal(i));
      const results = await pool.runBatch(jobs);
      results.forEach((r, i) => {
        if (stuckAt.has(i))
          expect(r).toMatchObject({
            ok: false,
            error: { kind: 'timeout', message: expect.stringContaining('wall-clock') },
          });
        else expect(r).toEqual({ ok: true, output: normalOutput(i) });
      });
      const stats = pool.stats();
      expect(stats.runs).toBe(120); // one answer per job: nothing lost, nothing answered twice
      expect(stats.watchdogKills).toBe(3);
      expect(stats.respawns).toBe(3);
      expect(stats.requeued).toBeGreaterThan(0);
      expect(stats.errors.timeout).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('survives a worker killed from outside: the running job is reported crashed, the rest are re-run once', async () => {
    const pool = testPool({ workers: 1, maxBatch: 64, limits: { wallClockMs: 60_000 } });
    try {
      await pool.ready();
      const slow = validateJob(STUCK, '', { validate: false });
      const jobs = [normal(0), slow, ...Array.from({ length: 30 }, (_, i) => normal(i + 2))];
      const pending = pool.runBatch(jobs);
      // Reach into the pool to kill its only worker while it runs the slow job (a stand-in for a crash).
      const slots = (
        pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> }; progress: Int32Array }> }
      ).slots;
      await waitUntil(() => Atomics.load(slots[0]!.progress, 0) === 2, {
        what: 'the worker to start the slow job',
        intervalMs: 1,
      });
      void slots[0]!.worker.terminate();
      const results = await pending;
      expect(results[1]).toMatchObject({ ok: false, error: { kind: 'crashed' } });
      results.forEach((r, i) => {
        if (i !== 1) expect(r).toEqual({ ok: true, output: normalOutput(i === 0 ? 0 : i) });
      });
      const stats = pool.stats();
      expect(stats.runs).toBe(jobs.length);
      expect(stats.crashes).toBe(1);
      expect(stats.respawns).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('answers `overloaded` beyond its bounded queue, and keeps serving', async () => {
    const pool = testPool({ workers: 1, maxQueued: 5 });
    try {
      const results = await pool.runBatch(Array.from({ length: 12 }, (_, i) => normal(i)));
      const overloaded = results.filter((r) => !r.ok && r.error.kind === 'overloaded').length;
      expect(overloaded).toBe(7);
      expect(pool.stats().errors.overloaded).toBe(7);
      expect(await pool.run(normal(99))).toEqual({ ok: true, output: normalOutput(99) });
    } finally {
      await pool.close();
    }
  });

  it('answers every job still waiting when closed, and every later job, with `crashed`', async () => {
    const pool = testPool({ workers: 1 });
    const pending = pool.runBatch(Array.from({ length: 5 }, (_, i) => normal(i)));
    await pool.close();
    const results = await pending;
    expect(results.every((r) => !r.ok && r.error.kind === 'crashed')).toBe(true);
    expect(await pool.run(normal(1))).toMatchObject({ ok: false, error: { kind: 'crashed' } });
  });

  it('keeps a process alive while it starts or a job is pending, and not once it is idle (no close needed)', () => {
    const pool = fileURLToPath(new URL('../../src/sandbox/pool.ts', import.meta.url));
    const script = `import { SandboxPool } from ${JSON.stringify(pool)};
      const pool = new SandboxPool({ workers: 1 });
      await pool.ready();
      console.log('ready');
      pool.run({ type: 'validate', program: 'function f() { return 7; }', input: '', staticCheck: true, determinism: true })
        .then((r) => console.log(JSON.stringify(r)));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('ready\n{"ok":true,"output":"7"}');
  });

  it('refuses limits QuickJS cannot survive', () => {
    expect(() => new SandboxPool({ limits: { stackBytes: 1024 * 1024 } })).toThrow(RangeError);
    expect(() => new SandboxPool({ limits: { timeoutMs: -1 } })).toThrow(RangeError);
  });
});
