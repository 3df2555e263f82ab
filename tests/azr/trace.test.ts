// Gold reasoning traces (src/azr/trace.ts) and the trace automaton (src/azr/lang/traceAutomaton.ts): every gold trace
// reaches the executor's output, each of its steps is a task-language expression whose value JavaScript agrees
// with, and decoding under the automaton always yields a well-formed trace within its budget.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateArgs, generateProgram } from '../../src/azr/lang/generate.js';
import { END, LEXEMES, TRACE_ARROW } from '../../src/azr/lang/lexemes.js';
import { lex } from '../../src/azr/lang/lex.js';
import { parseProbeJsonl } from '../../src/azr/probe.js';
import { joinLexemes } from '../../src/azr/lang/render.js';
import { Rng } from '../../src/azr/rng.js';
import { traceLexemes, traceOf, type GoldTrace } from '../../src/azr/trace.js';
import {
  acceptsTrace,
  MIN_TRACE_STEP,
  traceAllowedMask,
  traceMinToFinish,
  traceStart,
  traceStep,
  traceSteps,
} from '../../src/azr/lang/traceAutomaton.js';
import { programParams } from '../../src/azr/tasks.js';
import { argsSource, canonicalValue, valueEquals, valueLexemes, type Value } from '../../src/azr/lang/value.js';

const probe = parseProbeJsonl(
  readFileSync(fileURLToPath(new URL('../../scenarios/probe.jsonl', import.meta.url)), 'utf8'),
);
/**
 * JavaScript's own result (task-language programs have no loops, so no time limit is needed; the make-probe
 * executor's 100 ms vm timeout would fire on a loaded machine).
 */
function execute(program: string, args: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: new Function(`${program}\nreturn f(${args});`)() };
  } catch {
    return { ok: false };
  }
}

/**
 * Checks a gold trace against JavaScript: each step's left side, as the body of a program with the task's
 * parameters, returns the step's value on the task's input.
 */
function checkSteps(trace: GoldTrace, program0: string, input: string): void {
  const header = program0.slice(0, program0.indexOf('{') + 1);
  const params = programParams(program0)!;
  for (const s of trace.steps) {
    const program = `${header} return ${joinLexemes(s.lhs)}; }`;
    expect(lex(program, 'program').ok, program).toBe(true); // the left side is task language
    expect(acceptsTrace([...s.lhs, TRACE_ARROW, ...valueLexemes(s.value), ';'], params)).toBe(true);
    const r = execute(program, input);
    expect(r.ok, program).toBe(true);
    if (r.ok) expect(valueEquals(canonicalValue(r.value)!, s.value), program).toBe(true);
  }
}

describe('gold traces', () => {
  it('of the example in the issue: s.length % 6 - 4 - 5 on "ea"', () => {
    const t = traceOf('function f(s) { return s.length % 6 - 4 - 5; }', '"ea"')!;
    expect(traceLexemes(t.steps).join(' ')).toBe(
      `s .length ${TRACE_ARROW} 2 ; 2 % 6 ${TRACE_ARROW} 2 ; 2 - 4 ${TRACE_ARROW} -2 ; -2 - 5 ${TRACE_ARROW} -7 ;`,
    );
    expect(t.output).toBe(-7);
  });

  it('show the branch taken, parameters by name, earlier results as values, lambdas as source', () => {
    const t = traceOf('function f(xs, n) { if (xs.includes(n)) return xs.map(x => x + n); return xs; }', '[1, 2], 2')!;
    expect(traceLexemes(t.steps).join(' ')).toBe(
      `xs .includes( n ) ${TRACE_ARROW} true ; xs .map(x => x + n ) ${TRACE_ARROW} [ 3 , 4 ] ;`,
    );
    const u = traceOf('function f(s) { return s.slice(1).toUpperCase() + "ab"; }', '"cde"')!;
    expect(traceLexemes(u.steps).join(' ')).toBe(
      `s .slice( 1 ) ${TRACE_ARROW} " d e " ; " d e " .toUpperCase() ${TRACE_ARROW} " D E " ; " D E " + " a b " ${TRACE_ARROW} " D E a b " ;`,
    );
    expect(traceOf('function f(s) { return s; }', '"ab"')).toEqual({ steps: [], output: 'ab' });
    // a program that changes a parameter has none (the name would no longer say its value)
    expect(traceOf('function f(xs) { return xs.reverse().concat(xs); }', '[1, 2]')).toBeUndefined();
    expect(traceOf('function f(xs) { return [3, 1].reverse(); }', '[1, 2]')).toBeDefined();
  });

  it('with operands as values (the drill format) write the parameters by value and agree with the named trace', () => {
    const t = traceOf('function f(s) { return s.length % 6 - 4 - 5; }', '"ea"', { operands: 'values' })!;
    expect(traceLexemes(t.steps).join(' ')).toBe(
      `" e a " .length ${TRACE_ARROW} 2 ; 2 % 6 ${TRACE_ARROW} 2 ; 2 - 4 ${TRACE_ARROW} -2 ; -2 - 5 ${TRACE_ARROW} -7 ;`,
    );
    const rng = new Rng('trace-values');
    for (let i = 0; i < 200; i++) {
      const p = generateProgram(rng, { targetLength: 6 + (i % 12) });
      const input = argsSource(generateArgs(rng, p.params) as Value[]);
      const named = traceOf(p.source, input);
      const valued = traceOf(p.source, input, { operands: 'values' });
      expect(valued === undefined, p.source).toBe(named === undefined);
      if (named === undefined || valued === undefined) continue;
      expect(valued.steps.map((s) => s.value)).toEqual(named.steps.map((s) => s.value));
      expect(valued.output).toEqual(named.output);
      // each left side stands alone: no parameter name, and JavaScript gives the step's value without the input
      for (const s of valued.steps) {
        expect(s.lhs.filter((l) => p.params.includes(l as never))).toEqual([]);
        const r = execute(`function f() { return ${joinLexemes(s.lhs)}; }`, '');
        expect(r.ok && valueEquals(canonicalValue(r.value)!, s.value), joinLexemes(s.lhs)).toBe(true);
      }
    }
  });

  it('with reads: each parameter read once, by name, where first used; every other step as with values', () => {
    const t = traceOf('function f(s) { return s.length % 6 - 4 - 5; }', '"ea"', { operands: 'reads' })!;
    expect(traceLexemes(t.steps).join(' ')).toBe(
      `s ${TRACE_ARROW} " e a " ; " e a " .length ${TRACE_ARROW} 2 ; 2 % 6 ${TRACE_ARROW} 2 ; 2 - 4 ${TRACE_ARROW} -2 ; -2 - 5 ${TRACE_ARROW} -7 ;`,
    );
    // a parameter only a lambda uses is read before the method's step; a bare return is a read
    const u = traceOf('function f(xs, n) { if (n > 3) return xs.map(x => x * n); return n; }', '[1, 2], 5', {
      operands: 'reads',
    })!;
    expect(traceLexemes(u.steps).join(' ')).toBe(
      `n ${TRACE_ARROW} 5 ; 5 > 3 ${TRACE_ARROW} true ; xs ${TRACE_ARROW} [ 1 , 2 ] ; [ 1 , 2 ] .map(x => x * 5 ) ${TRACE_ARROW} [ 5 , 10 ] ;`,
    );
    expect(traceLexemes(traceOf('function f(s) { return s; }', '"ab"', { operands: 'reads' })!.steps).join(' ')).toBe(
      `s ${TRACE_ARROW} " a b " ;`,
    );
    const rng = new Rng('trace-reads');
    for (let i = 0; i < 200; i++) {
      const p = generateProgram(rng, { targetLength: 6 + (i % 12) });
      const args = generateArgs(rng, p.params) as Value[];
      const input = argsSource(args);
      const valued = traceOf(p.source, input, { operands: 'values' });
      const reads = traceOf(p.source, input, { operands: 'reads' });
      if (valued === undefined || reads === undefined) continue;
      const isRead = (s: { lhs: readonly string[] }) => s.lhs.length === 1 && p.params.includes(s.lhs[0] as never);
      expect(reads.steps.filter((s) => !isRead(s))).toEqual(valued.steps);
      const readSteps = reads.steps.filter(isRead);
      expect(new Set(readSteps.map((s) => s.lhs[0])).size).toBe(readSteps.length);
      for (const r of readSteps) expect(r.value).toEqual(args[p.params.indexOf(r.lhs[0] as never)]);
      expect(acceptsTrace(traceLexemes(reads.steps), p.params)).toBe(true);
    }
  });

  it('do not exist when a step is not expressible (out-of-range ints, string arrays, undefined)', () => {
    expect(traceOf('function f(n) { return n * 9 - 40; }', '5')).toBeUndefined(); // 45
    expect(traceOf('function f(s) { return s.split("a").length; }', '"bab"')).toBeUndefined(); // a string array
    expect(traceOf('function f(s) { return s[5] === "a"; }', '"ab"')).toBeUndefined(); // undefined
  });

  it('exist for most probe deduction tasks, reach their output, and every step is right', () => {
    let traced = 0;
    const deductions = probe.filter((t) => t.task.type === 'deduction');
    for (const { task } of deductions) {
      if (task.type !== 'deduction') continue;
      const t = traceOf(task.program, task.input);
      if (t === undefined) continue;
      traced++;
      expect(valueEquals(t.output, task.output), task.program).toBe(true);
      checkSteps(t, task.program, task.input);
      expect(acceptsTrace(traceLexemes(t.steps), programParams(task.program)!)).toBe(true);
    }
    expect(traced).toBeGreaterThan(0.85 * deductions.length);
  });

  it('agree with JavaScript on generated programs and inputs (the output, and each step)', () => {
    const rng = new Rng('trace-property');
    let traced = 0;
    const N = 400;
    for (let i = 0; i < N; i++) {
      const p = generateProgram(rng, { targetLength: 6 + (i % 12) });
      const input = argsSource(generateArgs(rng, p.params) as Value[]);
      const run = execute(p.source, input);
      const t = traceOf(p.source, input);
      if (t === undefined) continue;
      traced++;
      expect(run.ok, `${p.source} on ${input}`).toBe(true);
      if (run.ok) expect(valueEquals(canonicalValue(run.value)!, t.output), `${p.source} on ${input}`).toBe(true);
      checkSteps(t, p.source, input);
      expect(acceptsTrace(traceLexemes(t.steps), p.params)).toBe(true);
    }
    expect(traced).toBeGreaterThan(N / 2);
  });
});

describe('the trace automaton', () => {
  it('accepts an empty trace and well-formed steps; rejects a step without a value, an arrow too early, a bare value', () => {
    expect(acceptsTrace([])).toBe(true);
    expect(acceptsTrace(['2', '+', '3', TRACE_ARROW, '5', ';'])).toBe(true);
    expect(acceptsTrace(['2', '+', '3', TRACE_ARROW, ';'])).toBe(false);
    expect(acceptsTrace(['2', '+', TRACE_ARROW, '5', ';'])).toBe(false);
    expect(acceptsTrace(['2', '+', '3', TRACE_ARROW, '5'])).toBe(false); // unfinished step
    expect(acceptsTrace(['5', ';'])).toBe(false);
    expect(traceSteps(['2', '+', '3', TRACE_ARROW, '5', ';', '5', '*', '2', TRACE_ARROW, '10', ';'])).toBe(2);
  });

  it('lets a random walk over its masks finish within the budget, always well-formed', () => {
    const rng = new Rng('trace-walk');
    const mask = new Uint8Array(LEXEMES.length);
    for (let run = 0; run < 300; run++) {
      const budget = rng.int(40);
      const params = rng.pick([['n'], ['s', 't'], ['xs', 'n']]);
      let state = traceStart(params);
      const out: string[] = [];
      for (;;) {
        const n = traceAllowedMask(state, budget - out.length, mask);
        const allowed = LEXEMES.filter((_, i) => mask[i] === 1);
        expect(allowed.length).toBe(n);
        expect(allowed.length).toBeGreaterThan(0);
        const pick = allowed[rng.int(allowed.length)]!;
        if (pick === END) break;
        state = traceStep(state, pick)!;
        expect(state).toBeDefined();
        out.push(pick);
        expect(out.length + traceMinToFinish(state)).toBeLessThanOrEqual(budget);
      }
      expect(out.length).toBeLessThanOrEqual(budget);
      expect(acceptsTrace(out, params)).toBe(true);
      if (budget < MIN_TRACE_STEP) expect(out).toEqual([]);
    }
  });
});
