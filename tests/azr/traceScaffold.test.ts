// A deduction trace that follows its program (src/azr/traceScaffold.ts): the decoder writes each step's left side
// from the program and the values as written; the solver writes the values, which nothing checks.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateArgs, generateProgram } from '../../src/azr/lang/generate.js';
import { END, LEXEMES, TRACE_ARROW } from '../../src/azr/lang/lexemes.js';
import { argsSource, valueLexemes, type Value } from '../../src/azr/lang/value.js';
import { parseProbeJsonl } from '../../src/azr/probe.js';
import { Rng } from '../../src/azr/rng.js';
import { nextTraceStep, traceLexemes, traceOf } from '../../src/azr/trace.js';
import {
  scaffoldAdvance,
  scaffoldAllowedMask,
  scaffoldComplete,
  scaffoldMinToFinish,
  scaffoldStart,
  type ScaffoldState,
  type TraceScaffoldTask,
} from '../../src/azr/traceScaffold.js';

const probe = parseProbeJsonl(
  readFileSync(fileURLToPath(new URL('../../scenarios/probe.jsonl', import.meta.url)), 'utf8'),
);

/** The lexemes the scaffold allows here within `budget`. */
function allowed(state: ScaffoldState, budget = 64): string[] {
  const mask = new Uint8Array(LEXEMES.length);
  const count = scaffoldAllowedMask(state, budget, mask);
  const out = LEXEMES.filter((_, i) => mask[i] === 1);
  expect(out).toHaveLength(count);
  return out;
}

/** Writes `lexemes` under the scaffold, checking each is allowed; the state reached. */
function write(task: TraceScaffoldTask, lexemes: readonly string[], budget = 64): ScaffoldState {
  let s = scaffoldStart(task);
  lexemes.forEach((l, i) => {
    expect(allowed(s, budget - i), `${l} at ${i} in ${lexemes.join(' ')}`).toContain(l);
    s = scaffoldAdvance(s, l);
  });
  return s;
}

/** A step's lexemes: the left side, `⇒`, the value, `;`. */
const stepLexemes = (lhs: readonly string[], value: Value) => [...lhs, TRACE_ARROW, ...valueLexemes(value), ';'];

describe('a scaffolded trace', () => {
  const cases: { program: string; input: string }[] = [
    ...probe.filter((t) => t.task.type === 'deduction').map((t) => t.task as { program: string; input: string }),
  ];
  const rng = new Rng('scaffold');
  for (let i = 0; i < 300; i++) {
    const p = generateProgram(rng, { targetLength: 6 + (i % 12) });
    // A parameter sorted or reversed in place and left as it was (`ys.reverse()` … `ys.sort(…)`) keeps a gold trace
    // whose later steps read the array as changed: the scaffold restates values as written, so those differ
    if (p.params.some((x) => new RegExp(`\\b${x}\\.(reverse|sort)\\(`).test(p.source))) continue;
    cases.push({ program: p.source, input: argsSource(generateArgs(rng, p.params) as Value[]) });
  }

  it.each(['names', 'reads'] as const)(
    'with gold values is the gold trace (operands %s): one lexeme allowed inside a left side, then only <end>',
    (operands) => {
      let traced = 0;
      for (const { program, input } of cases) {
        const gold = traceOf(program, input, { operands });
        if (gold === undefined) continue;
        traced++;
        const task = { program, input, operands };
        let s = scaffoldStart(task);
        for (const step of gold.steps) {
          // between steps: end here, or begin the program's next operation
          expect(allowed(s)).toEqual([END, step.lhs[0]!].sort((a, b) => LEXEMES.indexOf(a) - LEXEMES.indexOf(b)));
          [...step.lhs, TRACE_ARROW].forEach((l, k) => {
            if (k > 0) expect(allowed(s)).toEqual([l]);
            s = scaffoldAdvance(s, l);
          });
          for (const l of [...valueLexemes(step.value), ';']) s = scaffoldAdvance(s, l);
        }
        expect(scaffoldComplete(s)).toBe(true);
        expect(allowed(s), program).toEqual([END]); // the program has returned
        expect(scaffoldAdvance(s, END)).toEqual({ phase: 'ended' });
      }
      expect(traced).toBeGreaterThan(250);
    },
  );

  it('carries a wrong value forward as written and never checks it', () => {
    const task = { program: 'function f(n) { return n * 2 + 3; }', input: '4', operands: 'names' } as const;
    expect(traceLexemes(traceOf(task.program, task.input)!.steps).join(' ')).toBe('n * 2 ⇒ 8 ; 8 + 3 ⇒ 11 ;');
    // 4 * 2 written as 7: the next step is 7 + 3, and its value may be anything
    const s = write(task, [...stepLexemes(['n', '*', '2'], 7), '7', '+', '3', TRACE_ARROW, '-5', ';']);
    expect(allowed(s)).toEqual([END]);
    expect(nextTraceStep(task.program, task.input, [7])).toEqual({ kind: 'step', lhs: ['7', '+', '3'] });
    expect(() => scaffoldAdvance(write(task, stepLexemes(['n', '*', '2'], 7)), '8')).toThrow(/scaffolded trace/);
  });

  it('follows a branch by the value its test was written with', () => {
    const task = {
      program: 'function f(n) { if (n > 3) return n - 1; return n + 1; }',
      input: '5',
      operands: 'names',
    } as const;
    const taken = write(task, [...stepLexemes(['n', '>', '3'], true), 'n']);
    expect(allowed(taken)).toEqual(['-']);
    expect(nextTraceStep(task.program, task.input, [true])).toEqual({ kind: 'step', lhs: ['n', '-', '1'] });
    // 5 > 3 written as false: the trace goes on in the other branch
    expect(nextTraceStep(task.program, task.input, [false])).toEqual({ kind: 'step', lhs: ['n', '+', '1'] });
    const other = write(task, [...stepLexemes(['n', '>', '3'], false), 'n', '+', '1', TRACE_ARROW, '6', ';']);
    expect(allowed(other)).toEqual([END]);
  });

  it('reads a parameter as its read step wrote it (operands reads)', () => {
    const task = { program: 'function f(n) { return n * 2 + 3; }', input: '4', operands: 'reads' } as const;
    expect(traceLexemes(traceOf(task.program, task.input, { operands: 'reads' })!.steps).join(' ')).toBe(
      'n ⇒ 4 ; 4 * 2 ⇒ 8 ; 8 + 3 ⇒ 11 ;',
    );
    expect(nextTraceStep(task.program, task.input, [6], 'reads')).toEqual({ kind: 'step', lhs: ['6', '*', '2'] });
  });

  it('must end when the next operation cannot take the value written', () => {
    const task = { program: 'function f(s) { return s.slice(1).toUpperCase(); }', input: '"abc"', operands: 'names' };
    const gold = traceOf(task.program, task.input)!;
    expect(nextTraceStep(task.program, task.input, [gold.steps[0]!.value])).toMatchObject({ kind: 'step' });
    // a number where the slice's string goes: .toUpperCase() has no receiver
    expect(nextTraceStep(task.program, task.input, [5])).toEqual({ kind: 'stuck' });
    const s = write(task as TraceScaffoldTask, stepLexemes(gold.steps[0]!.lhs, 5));
    expect(scaffoldComplete(s)).toBe(true);
    expect(allowed(s)).toEqual([END]);
  });

  it('keeps to its budget: a step that does not fit leaves only <end>; a value ends where `;` still fits', () => {
    const task = { program: 'function f(n) { return n * 2 + 3; }', input: '4', operands: 'names' } as const;
    const s = scaffoldStart(task);
    expect(allowed(s, 6)).toEqual([END, 'n'].sort((a, b) => LEXEMES.indexOf(a) - LEXEMES.indexOf(b)));
    expect(allowed(s, 5)).toEqual([END]); // n * 2 ⇒ v ; is six lexemes
    const inValue = write(task, ['n', '*', '2', TRACE_ARROW]);
    expect(scaffoldMinToFinish(inValue)).toBe(2);
    // one lexeme left: no value fits with its `;`
    expect(allowed(inValue, 1)).toEqual([]);
    expect(allowed(inValue, 2)).toContain('8');
    expect(allowed(inValue, 2)).not.toContain('[');
    expect(scaffoldMinToFinish(write(task, ['n']))).toBe(5);
  });
});
