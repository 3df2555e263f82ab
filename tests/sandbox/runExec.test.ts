// `azr exec`'s streaming in-process: request lines run whole in the workers, answers in order, lines split like
// readline across chunk boundaries; and the engine's syntax gate (QuickJS first, acorn for what QuickJS refuses).
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { QuickJsEngine } from '../../src/sandbox/engine.js';
import { runExec } from '../../src/sandbox/runExec.js';
import { DEFAULT_BANNED } from '../../src/sandbox/staticCheck.js';
import { DEFAULT_LIMITS } from '../../src/sandbox/types.js';
import { TEST_LIMITS, validateJob } from './helpers.js';

async function exec(chunks: Array<string | Buffer>, window = 1024): Promise<{ lines: string[]; log: string }> {
  let out = '';
  let log = '';
  const output = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  const logStream = new Writable({ write: (c, _e, cb) => ((log += String(c)), cb()) });
  const { outputError } = await runExec(Readable.from(chunks), output, logStream, {
    validate: true,
    workers: 2,
    window,
    limits: TEST_LIMITS,
    banned: DEFAULT_BANNED,
    quiet: false,
  });
  expect(outputError).toBeNull();
  return { lines: out === '' ? [] : out.slice(0, -1).split('\n'), log };
}

const req = (x: number, expected?: string) =>
  JSON.stringify(
    expected === undefined
      ? { program: 'function f(x) { return x * 2; }', input: String(x) }
      : { program: 'function f(x) { return x * 2; }', input: String(x), expected },
  );

describe('runExec', () => {
  it('splits lines at \\n, \\r\\n and a lone \\r, also across chunks, and answers each in order', async () => {
    const text = `${req(1)}\r\n${req(2, '4')}\r${req(3, '5')}\n\n${req(4)}`;
    // Cut right after each \r (between the \r and the \n of the CRLF, after the lone \r), before each \n, and mid-line.
    const cuts = [...text.matchAll(/\r/g)]
      .map((m) => m.index + 1)
      .concat(
        [...text.matchAll(/\n/g)].map((m) => m.index),
        [5],
      );
    for (const cut of cuts) {
      const { lines } = await exec([text.slice(0, cut), Buffer.from(text.slice(cut))]);
      expect(lines.map((l) => JSON.parse(l))).toEqual([
        { ok: true, output: '2' },
        { ok: true, output: '4', match: true },
        { ok: true, output: '6', match: false },
        { ok: false, error: { kind: 'bad_request', message: expect.stringContaining('JSON') } },
        { ok: true, output: '8' },
      ]);
    }
    const bytes = Buffer.from(`${JSON.stringify({ program: 'function f(s) { return s + "é€"; }', input: '"x"' })}\n`);
    const { lines } = await exec([bytes.subarray(0, bytes.length - 5), bytes.subarray(bytes.length - 5)]);
    expect(JSON.parse(lines[0]!)).toEqual({ ok: true, output: '"xé€"' });
  });

  it('streams many lines through a small window in order, counting errors by kind', async () => {
    const n = 600;
    const chunks = Array.from({ length: n }, (_, i) => (i % 100 === 7 ? 'not json\n' : `${req(i)}\n`));
    const { lines, log } = await exec(chunks, 8);
    expect(lines).toHaveLength(n);
    lines.forEach((l, i) =>
      expect(JSON.parse(l)).toEqual(
        i % 100 === 7 ? expect.objectContaining({ ok: false }) : { ok: true, output: String(2 * i) },
      ),
    );
    expect(log).toMatch(/600 lines, 594 ok, 6 errors \(bad_request 6\)/);
  });
});

describe('the hardened engine parses a program before compiling it in its wrapper', () => {
  let engine: QuickJsEngine | undefined;
  afterEach(() => engine?.dispose());

  it('refuses a program that would close its wrapper, with or without the static check, and keeps acorn messages', async () => {
    engine = await QuickJsEngine.create({
      limits: { ...DEFAULT_LIMITS, ...TEST_LIMITS },
      banned: DEFAULT_BANNED,
      isolation: 'hardened',
      jobsPerContext: 100,
    });
    for (const validate of [true, false]) {
      for (const program of [
        '}); (() => {',
        'function f() { return 1; }\n}); globalThis.leak = 1; (() => {',
        'return 1',
        'function f( {',
      ]) {
        const r = engine.runJob(validateJob(program, '', { validate }));
        expect(r).toMatchObject({ ok: false, error: { kind: 'syntax' } });
        if (!r.ok) expect(r.error.message).toMatch(/\(\d+:\d+\)/); // acorn's position
      }
      expect(engine.runJob(validateJob('function f() { return typeof leak; }', '', { validate }))).toEqual({
        ok: true,
        output: '"undefined"',
      });
    }
    // A banned name still gets acorn's walk; the same name in a string does not ban the program.
    expect(engine.runJob(validateJob('function f() { return Date.now(); }'))).toMatchObject({
      ok: false,
      error: { kind: 'banned' },
    });
    expect(engine.runJob(validateJob('function f() { return "Date"; }'))).toEqual({ ok: true, output: '"Date"' });
  });
});

describe('the engine checks an `expected` that is not a value literal from the parse that found it is not one', () => {
  let engine: QuickJsEngine | undefined;
  afterEach(() => engine?.dispose());

  it('evaluates it, refuses a banned one with its position, and refuses what is not one expression', async () => {
    engine = await QuickJsEngine.create({
      limits: { ...DEFAULT_LIMITS, ...TEST_LIMITS },
      banned: DEFAULT_BANNED,
      isolation: 'hardened',
      jobsPerContext: 100,
    });
    const program = 'function f(x) { return x + 1; }';
    expect(engine.runJob(validateJob(program, '1', { expected: '[1].map((y) => y + 1)[0]' }))).toEqual({
      ok: true,
      output: '2',
      match: true,
    });
    expect(engine.runJob(validateJob(program, '1', { expected: '1 + Date.now()' }))).toEqual({
      ok: false,
      error: { kind: 'banned', message: expect.stringContaining('Date at expected 1:5') },
    });
    expect(engine.runJob(validateJob(program, '1', { expected: '1) + (2' }))).toEqual({
      ok: false,
      error: { kind: 'bad_input', message: 'expected: not exactly one expression' },
    });
    expect(engine.runJob(validateJob(program, '1', { expected: '1; 2' }))).toEqual({
      ok: false,
      error: { kind: 'bad_input', message: expect.stringMatching(/^expected: not an expression: /) },
    });
    // Without the static check the banned name is not refused: the expression runs in the sandbox (no Date there).
    expect(engine.runJob(validateJob(program, '1', { expected: 'typeof Date', validate: false }))).toEqual({
      ok: true,
      output: '2',
      match: false,
    });
    expect(engine.runJob({ type: 'evaluate', expression: '[3].length + 1', staticCheck: true })).toEqual({
      ok: true,
      output: '2',
    });
    expect(engine.runJob({ type: 'evaluate', expression: 'Math.random()', staticCheck: true })).toMatchObject({
      ok: false,
      error: { kind: 'banned' },
    });
  });
});
