// The adversarial suite: one attack per test, each followed by an ordinary program that must still work.
// Runs under both isolation modes. Small limits (TEST_LIMITS) keep the attacks that must time out short.
// Memory bombs may end either way: the memory limit, or the watchdog when QuickJS's GC thrashes near the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxPool } from '../../src/sandbox/pool.js';
import type { Isolation } from '../../src/sandbox/types.js';
import { expectError, expectHealthy, expectOk, run, testPool } from './helpers.js';

describe.each<Isolation>(['hardened', 'fresh'])('adversarial programs (%s isolation)', (isolation) => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = testPool({ isolation });
    await pool.ready();
  });
  afterAll(() => pool.close());

  describe('runaway CPU', () => {
    it('stops a plain infinite loop (timeout)', async () => {
      expectError(await run(pool, 'function f() { while (true) {} }'), 'timeout');
      await expectHealthy(pool);
    });

    it('stops an infinite loop inside a sort comparator (timeout)', async () => {
      expectError(await run(pool, 'function f() { return [3, 1, 2].sort(() => { for (;;) {} }); }'), 'timeout');
      await expectHealthy(pool);
    });

    it('never runs a getter of the returned value, so its infinite loop cannot hang (unserializable)', async () => {
      const r = await run(pool, 'function f() { return { get x() { for (;;) {} } }; }');
      expectError(r, 'unserializable');
      await expectHealthy(pool);
    });

    it('stops an infinite loop in a promise executor (timeout; banned when validating)', async () => {
      const program = 'function f() { return new Promise(() => { for (;;) {} }); }';
      expectError(await run(pool, program), 'banned');
      expectError(await run(pool, program, '', { validate: false }), 'timeout');
      await expectHealthy(pool);
    });

    it('stops catastrophic regex backtracking (timeout)', async () => {
      expectError(await run(pool, 'function f(s) { return /^(a+)+$/.test(s); }', '"a".repeat(32) + "b"'), 'timeout');
      await expectHealthy(pool);
    });

    it('kills and replaces a worker stuck inside a native built-in (wall-clock watchdog)', async () => {
      const before = pool.stats();
      // indexOf over a huge array-like loops in C without ever reaching QuickJS's interrupt check
      const r = await run(pool, 'function f() { return Array.prototype.indexOf.call({ length: 2 ** 40 }, 1); }');
      expectError(r, 'timeout');
      if (!r.ok) expect(r.error.message).toMatch(/wall-clock/);
      const after = pool.stats();
      expect(after.watchdogKills).toBe(before.watchdogKills + 1);
      expect(after.respawns).toBe(before.respawns + 1);
      await expectHealthy(pool);
    });
  });

  describe('runaway stack and memory', () => {
    it('stops unbounded recursion (stack)', async () => {
      expectError(await run(pool, 'function f(n) { return f(n + 1) + 1; }', '0'), 'stack');
      await expectHealthy(pool);
    });

    it('stops an array memory bomb (memory, or timeout if the budget comes first)', async () => {
      expectError(
        await run(pool, 'function f() { const a = []; for (;;) a.push([1, 2, 3, 4, 5, 6, 7, 8]); }'),
        'memory',
        'timeout',
      );
      await expectHealthy(pool);
    });

    it('stops a string-doubling bomb (memory)', async () => {
      expectError(await run(pool, 'function f() { let s = "x"; for (;;) s += s; }'), 'memory');
      await expectHealthy(pool);
    });

    it('stops a typed-array memory bomb (memory, or timeout from the watchdog during GC thrash)', async () => {
      expectError(
        await run(pool, 'function f() { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); }'),
        'memory',
        'timeout',
      );
      await expectHealthy(pool);
    });

    it('stops a huge native repeat (memory)', async () => {
      expectError(await run(pool, 'function f() { return "x".repeat(1e9).length; }'), 'memory');
      await expectHealthy(pool);
    });

    it('stops a huge native fill (memory, or timeout from the watchdog if GC thrashes first)', async () => {
      expectError(await run(pool, 'function f() { return new Array(1e8).fill(0).length; }'), 'memory', 'timeout');
      await expectHealthy(pool);
    });
  });

  describe('host probes', () => {
    it.each([
      ['process', 'function f() { return process.pid; }'],
      ['require', 'function f() { return require("fs"); }'],
      ['import()', 'function f() { return import("node:fs"); }'],
      ['Function', 'function f() { return Function("return process")(); }'],
      ['constructor()', 'function f() { return (() => 0).constructor("return 1")(); }'],
    ])('refuses %s statically (banned)', async (name, program) => {
      const r = await run(pool, program);
      expectError(r, 'banned');
      if (!r.ok) expect(r.error.message.startsWith(name)).toBe(true);
      await expectHealthy(pool);
    });

    it('finds no host object even with the static check skipped', async () => {
      const probe =
        'function f() { const g = Function("return this")(); return [typeof process, typeof require, typeof module, typeof console, ' +
        'typeof Date, typeof Math.random, typeof Proxy, typeof WebAssembly, typeof g.process, typeof setTimeout]; }';
      expectOk(await run(pool, probe, '', { validate: false }), `[${Array(10).fill('"undefined"').join(', ')}]`);
      await expectHealthy(pool);
    });

    it('gives dynamic import nothing to load (the promise is not a value)', async () => {
      expectError(
        await run(pool, 'function f() { return import("node:fs"); }', '', { validate: false }),
        'unserializable',
        'runtime',
      );
      await expectHealthy(pool);
    });
  });

  describe('state carried from one request to the next', () => {
    it('a global set by one request is invisible to the next', async () => {
      expectOk(
        await run(pool, 'function f() { globalThis.leak = 1; leak2 = 2; return 0; }', '', { validate: false }),
        '0',
      );
      expectOk(
        await run(pool, 'function f() { return [typeof leak, typeof leak2]; }', '', { validate: false }),
        '["undefined", "undefined"]',
      );
      await expectHealthy(pool);
    });

    it('a built-in prototype changed by one request is unchanged for the next', async () => {
      await run(
        pool,
        'function f() { Array.prototype.leak = 1; Object.prototype.toString = () => "pwned"; return 0; }',
        '',
        { validate: false },
      );
      expectOk(
        await run(pool, 'function f() { return [[].leak === undefined, String({})]; }'),
        '[true, "[object Object]"]',
      );
      await expectHealthy(pool);
    });

    it('a built-in function replaced by one request is intact for the next', async () => {
      await run(pool, 'function f() { Math.max = () => -1; JSON.stringify = () => "x"; Map = null; return 0; }', '', {
        validate: false,
      });
      expectOk(
        await run(pool, 'function f() { return [Math.max(1, 2), JSON.stringify([1]), typeof Map]; }'),
        '[2, "[1]", "function"]',
      );
      await expectHealthy(pool);
    });

    it('a promise callback queued by one request never runs in the next', async () => {
      await run(pool, 'function f() { Promise.resolve().then(() => { globalThis.late = 1; }); return 0; }', '', {
        validate: false,
      });
      expectOk(await run(pool, 'function f() { return typeof late; }', '', { validate: false }), '"undefined"');
      await expectHealthy(pool);
    });

    it('a top-level variable of one request is invisible to the next', async () => {
      expectOk(
        await run(pool, 'var total = 0; let seen = []; function f(x) { total += x; seen.push(x); return x; }', '5'),
        '5',
      );
      expectOk(
        await run(pool, 'function f() { return [typeof total, typeof seen]; }', '', { validate: false }),
        '["undefined", "undefined"]',
      );
      await expectHealthy(pool);
    });

    it('module-level state that changes between the two calls is caught (nondeterministic)', async () => {
      expectError(await run(pool, 'let calls = 0; function f() { return ++calls; }'), 'nondeterministic');
      await expectHealthy(pool);
    });
  });

  describe('outputs that are not values', () => {
    it.each([
      ['a function', 'function f() { return () => 1; }', 'unserializable'],
      ['a symbol', 'function f() { return Symbol("s"); }', 'unserializable'],
      ['a cycle', 'function f() { const a = [1]; a.push(a); return a; }', 'unserializable'],
      [
        'a class instance',
        'function f() { class P { constructor() { this.x = 1; } } return new P(); }',
        'unserializable',
      ],
      ['a getter', 'function f() { return { get x() { return 1; } }; }', 'unserializable'],
      ['a too-long array', 'function f() { return new Array(100000).fill(7); }', 'output_too_large'],
      ['a too-long string', 'function f() { return "x".repeat(70000); }', 'output_too_large'],
      [
        'a deeply nested value',
        'function f() { let a = []; for (let i = 0; i < 1000; i++) a = [a]; return a; }',
        'unserializable',
      ],
      [
        'an exponential DAG',
        'function f() { let a = [1]; for (let i = 0; i < 40; i++) a = [a, a]; return a; }',
        'output_too_large',
      ],
    ])('reports %s as an error', async (_name, program, kind) => {
      expectError(await run(pool, program), kind);
      await expectHealthy(pool);
    });
  });

  describe('input injection', () => {
    it.each([
      ['closing the call', '1); globalThis.pwned = (1'],
      ['a second call', '1) + f(2'],
      ['a comment eating the paren', '1 // '],
      ['an open block comment', '1 /*'],
      ['a statement', '1; pwned = 1'],
      ['an HTML-like comment', '1\n--> 0'],
    ])('refuses %s (bad_input)', async (_name, input) => {
      expectError(await run(pool, 'function f(x) { return x; }', input, { validate: false }), 'bad_input');
      expectOk(await run(pool, 'function f() { return typeof pwned; }', '', { validate: false }), '"undefined"');
      await expectHealthy(pool);
    });
  });
});

describe('hardened isolation: anomalies discard the shared context', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = testPool({ isolation: 'hardened', workers: 1 });
    await pool.ready();
  });
  afterAll(() => pool.close());

  it.each([
    [
      'a non-configurable global',
      'Object.defineProperty(globalThis, "zz", { value: 1 }); function f() { return 0; }',
      'typeof zz',
    ],
    [
      "the global object's prototype",
      'Object.setPrototypeOf(globalThis, { zz: 1 }); function f() { return 0; }',
      'typeof zz',
    ],
    [
      'a non-extensible global object',
      'Object.preventExtensions(globalThis); function f() { return 0; }',
      '(zz = 1, typeof zz === "number" ? "undefined" : "broken")',
    ],
    ['a top-level `this` property', 'this.zz = 1; function f() { return 0; }', 'typeof zz'],
  ])('restores %s for the next request', async (_name, program, probe) => {
    expectOk(await run(pool, program, '', { validate: false }), '0');
    expectOk(await run(pool, `function f() { return ${probe}; }`, '', { validate: false }), '"undefined"');
    await expectHealthy(pool);
  });

  it('keeps frozen built-ins overridable on instances (assignment defines an own property)', async () => {
    const program =
      'function f() { const o = {}; o.toString = () => "mine"; class E extends Error { constructor(m) { super(m); this.name = "E"; } } ' +
      'const e = new E("m"); return [String(o), e.name, e.message, e instanceof Error]; }';
    expectOk(await run(pool, program), '["mine", "E", "m", true]');
  });

  it('refuses to modify a built-in (strict mode throws; the next request sees no change)', async () => {
    expectError(
      await run(pool, 'function f() { "use strict"; Array.prototype.sum = () => 1; return [].sum(); }'),
      'runtime',
    );
    expectOk(await run(pool, 'function f() { return typeof [].sum; }'), '"undefined"');
  });
});
