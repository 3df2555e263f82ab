// The engine on its own (in this thread): no leaks across many jobs, and when it replaces contexts and runtimes.
import { afterEach, describe, expect, it } from 'vitest';
import { QuickJsEngine } from '../../src/sandbox/engine.js';
import { DEFAULT_BANNED } from '../../src/sandbox/staticCheck.js';
import { DEFAULT_LIMITS, type Isolation } from '../../src/sandbox/types.js';
import { TEST_LIMITS, validateJob } from './helpers.js';

let engine: QuickJsEngine | undefined;
afterEach(() => engine?.dispose());

function create(isolation: Isolation, jobsPerContext = 2000) {
  return QuickJsEngine.create({
    limits: { ...DEFAULT_LIMITS, ...TEST_LIMITS },
    banned: DEFAULT_BANNED,
    isolation,
    jobsPerContext,
  });
}

describe.each<Isolation>(['hardened', 'fresh'])('QuickJsEngine (%s)', (isolation) => {
  it('leaks no memory over many jobs, ordinary or failing', async () => {
    // 300 jobs per round; in hardened mode the shared context is replaced after each round, so what remains between
    // rounds is the runtime itself (within a context, garbage waits for QuickJS's GC threshold).
    engine = await create(isolation, 300);
    const programs = [
      'function f(a) { return a.map((x) => ({ x, sq: x * x })); }',
      'function f() { throw new Error("boom"); }',
      'function f() { const m = new Map(); m.set(m, m); return [...m.keys()].length; }',
      'function f() { return () => 1; }',
      'function f(n) { return f(n + 1); }',
    ];
    const round = () => {
      for (let i = 0; i < 60; i++) for (const p of programs) engine!.runJob(validateJob(p, '[1, 2, 3]'));
    };
    round();
    const before = engine.memoryUsed();
    round();
    round();
    const after = engine.memoryUsed();
    expect(after).toBeLessThanOrEqual(before + 16 * 1024);
  });

  it('replaces the runtime after a timeout, and stays correct', async () => {
    engine = await create(isolation);
    const runtimes = engine.created.runtimes;
    expect(engine.runJob(validateJob('function f() { for (;;) {} }'))).toMatchObject({
      ok: false,
      error: { kind: 'timeout' },
    });
    expect(engine.created.runtimes).toBe(runtimes + 1);
    expect(engine.runJob(validateJob('function f(x) { return x + 1; }', '1'))).toEqual({ ok: true, output: '2' });
  });

  it('replaces the runtime when a promise job is left over', async () => {
    engine = await create(isolation);
    const runtimes = engine.created.runtimes;
    expect(
      engine.runJob(
        validateJob('function f() { Promise.resolve().then(() => 0); return 1; }', '', { validate: false }),
      ),
    ).toEqual({ ok: true, output: '1' });
    expect(engine.created.runtimes).toBe(runtimes + 1);
  });
});

describe('hardened shared context', () => {
  it('is reused across jobs and replaced every jobsPerContext jobs', async () => {
    engine = await create('hardened', 10);
    for (let i = 0; i < 25; i++)
      expect(engine.runJob(validateJob('function f(x) { return x; }', String(i)))).toEqual({
        ok: true,
        output: String(i),
      });
    expect(engine.created.sharedContexts).toBe(3);
  });

  it('is replaced when a job leaves something it cannot remove', async () => {
    engine = await create('hardened');
    engine.runJob(validateJob('function f() { return 0; }'));
    engine.runJob(
      validateJob('function f() { Object.defineProperty(globalThis, "p", { value: 1 }); return 0; }', '', {
        validate: false,
      }),
    );
    expect(engine.created.sharedContexts).toBe(1);
    expect(engine.runJob(validateJob('function f() { return typeof p; }', '', { validate: false }))).toEqual({
      ok: true,
      output: '"undefined"',
    });
    expect(engine.created.sharedContexts).toBe(2);
  });
});
