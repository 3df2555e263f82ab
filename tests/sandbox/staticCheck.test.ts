// The static check: acorn parsing, the banned list with reasons, and the exact-argument-list rule for inputs.
import { describe, expect, it } from 'vitest';
import { checkArguments, checkExpression, checkProgram, DEFAULT_BANNED } from '../../src/sandbox/staticCheck.js';

const bans = DEFAULT_BANNED;

describe('checkProgram', () => {
  it('accepts an ordinary program', () => {
    expect(
      checkProgram(
        'function f(a) { const m = new Map(); for (const x of a) m.set(x, (m.get(x) ?? 0) + 1); return [...m]; }',
        bans,
      ),
    ).toEqual({ ok: true });
  });

  it('reports a syntax error with its position (syntax)', () => {
    const r = checkProgram('function f( {', bans);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('syntax');
      expect(r.error.message).toMatch(/\(1:\d+\)/);
    }
  });

  it('refuses a top-level return (programs are scripts)', () => {
    expect(checkProgram('return 1', null).ok).toBe(false);
  });

  it.each([
    ['Math.random', 'function f() { return Math.random(); }'],
    ['Math.random', 'function f() { return Math["random"](); }'],
    ['Date', 'function f() { return Date.now(); }'],
    ['Date', 'function f() { return new Date(0).getTime(); }'],
    ['Date', 'function f() { return \\u0044ate.now(); }'], // spelled with a unicode escape
    ['eval', 'function f(s) { return eval(s); }'],
    ['Function', 'function f() { return Function("return 1")(); }'],
    ['constructor()', 'function f() { return [].map.constructor("return 1")(); }'],
    ['import()', 'function f() { return import("fs"); }'],
    ['require', 'function f() { return require("fs"); }'],
    ['process', 'function f() { return process.env; }'],
    ['globalThis', 'function f() { return globalThis.x; }'],
    ['WebAssembly', 'function f() { return typeof WebAssembly; }'],
    ['Atomics', 'function f() { return Atomics; }'],
    ['SharedArrayBuffer', 'function f() { return new SharedArrayBuffer(8); }'],
    ['Proxy', 'function f() { return new Proxy({}, {}); }'],
    ['Promise', 'function f() { return Promise.resolve(1); }'],
    ['async', 'async function f() { return 1; }'],
    ['async', 'const f = async () => 1;'],
    ['setTimeout', 'function f() { setTimeout(() => 0, 1); return 1; }'],
  ])('bans %s with its reason', (name, program) => {
    const r = checkProgram(program, bans);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('banned');
      expect(r.error.message.startsWith(`${name} at program `)).toBe(true);
      expect(r.error.message).toContain(DEFAULT_BANNED.find((b) => b.name === name)!.reason);
    }
  });

  it.each([
    'function f(o) { return o.Date + o.process; }',
    'function f() { return { Date: 1, eval: 2, process: 3 }; }',
    'function f() { Date: for (;;) break Date; return 1; }',
    'class C { Date() { return 1; } } function f() { return new C().Date(); }',
    'function f() { return Math.max(1, 2); }',
    'function* g() { yield 1; } function f() { return [...g()]; }',
  ])('does not mistake property names, labels or other members for banned names: %s', (program) => {
    expect(checkProgram(program, bans)).toEqual({ ok: true });
  });

  it('uses a custom banned list', () => {
    const custom = [
      { name: 'generator', reason: 'no generators here' },
      { name: 'JSON.parse', reason: 'parse it yourself' },
    ];
    expect(checkProgram('function* f() {}', custom)).toMatchObject({
      ok: false,
      error: { kind: 'banned', message: expect.stringContaining('no generators here') },
    });
    expect(checkProgram('function f(s) { return JSON.parse(s); }', custom)).toMatchObject({
      ok: false,
      error: { kind: 'banned' },
    });
    expect(checkProgram('function f() { return Math.random(); }', custom)).toEqual({ ok: true });
  });
});

describe('checkArguments', () => {
  it.each([
    '',
    '1',
    '"a", [1, 2], {"b": null}',
    "'x', { a: 1 }, new Set([1])",
    '...[1, 2]',
    'x => x * 2, [3]',
    '1 /* c */',
  ])('accepts the argument list %s', (input) => {
    expect(checkArguments(input, bans)).toEqual({ ok: true });
  });

  it.each(['1); g(', '1) + f(2', '1, 2)(3', '1 //', '(1', '1))', '1; 2', ')', '1\n--> 0'])(
    'refuses %s (bad_input)',
    (input) => {
      const r = checkArguments(input, bans);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.kind).toBe('bad_input');
    },
  );

  it('applies the banned list to the arguments, but not when it is skipped', () => {
    expect(checkArguments('Math.random()', bans)).toMatchObject({ ok: false, error: { kind: 'banned' } });
    expect(checkArguments('Math.random()', null)).toEqual({ ok: true });
  });
});

describe('checkExpression', () => {
  it.each(['1', '(1)', '[1, 2].map((x) => x * 2)', '{a: 1}', 'new Map([[1, 2]])', '(0, 1)', '"a" // trailing comment'])(
    'accepts %s',
    (text) => {
      expect(checkExpression(text, bans)).toEqual({ ok: true });
    },
  );

  it.each(['1) + (2', '1;', '', 'let x = 1', '1 /*'])('refuses %s (bad_input)', (text) => {
    expect(checkExpression(text, bans)).toMatchObject({ ok: false, error: { kind: 'bad_input' } });
  });

  it('applies the banned list', () => {
    expect(checkExpression('Date.now()', bans)).toMatchObject({
      ok: false,
      error: { kind: 'banned', message: expect.stringContaining('Date at expression 1:1') },
    });
  });
});
