// The constraint automaton of a reasoning trace: well-formed steps `operation ⇒ value ;`, never checked for truth.
//
// A trace segment is zero or more steps. A step's left side is a task-language expression (as after `return` in a
// program of the task's signature: values, the parameters, operators, methods, lambdas); `⇒` may come exactly where
// the expression could end; then one value; then `;`. The segment may end (its <end>) only between steps, so an empty trace is `<end>` alone — the
// solver's choice not to reason. Only the answer after the trace is graded.

import {
  advance,
  allowedMask,
  isComplete,
  minToFinish,
  start,
  step,
  TaskLanguageError,
  type AutomatonState,
} from './automaton.js';
import { SIGNATURES, signatureOf } from './grammar.js';
import { END, LEXEMES, lexemeId, TRACE_ARROW } from './lexemes.js';

/** A point inside a trace. Immutable. */
export type TraceState =
  | { readonly phase: 'between'; readonly start: AutomatonState }
  | { readonly phase: 'operation'; readonly start: AutomatonState; readonly expr: AutomatonState }
  | { readonly phase: 'value'; readonly start: AutomatonState; readonly value: AutomatonState }
  | { readonly phase: 'ended' };

const STEP_END = ';';
const ARROW_ID = lexemeId(TRACE_ARROW);
const STEP_END_ID = lexemeId(STEP_END);
/** Lexemes after `return` that a program still needs once its expression is complete: `;` and `}`. */
const PROGRAM_TAIL = 2;
/** The shortest step: one lexeme, `⇒`, a one-lexeme value, `;`. */
export const MIN_TRACE_STEP = 4;

const exprStarts = new Map<string, AutomatonState>();
/** The program automaton right after `return` in a program of the signature (parameters in scope). */
function expressionStart(params: readonly string[]): AutomatonState {
  const sig = signatureOf(params) ?? SIGNATURES[1]!;
  let s = exprStarts.get(sig.id);
  if (s === undefined) {
    s = advance(advance(start('program'), sig.header), 'return');
    exprStarts.set(sig.id, s);
  }
  return s;
}

/** The state at the start of a trace segment for a task whose program takes `params` (they may be named). */
export function traceStart(params: readonly string[] = []): TraceState {
  return { phase: 'between', start: expressionStart(params) };
}

/** True when the trace may end here (between steps). */
export function traceComplete(state: TraceState): boolean {
  return state.phase === 'between';
}

/** Least number of lexemes (its <end> not counted) that completes the trace from here. */
export function traceMinToFinish(state: TraceState): number {
  switch (state.phase) {
    case 'operation':
      // the expression's own rest, minus the program's `; }`, plus `⇒`, a value and `;`
      return minToFinish(state.expr) - PROGRAM_TAIL + 3;
    case 'value':
      return minToFinish(state.value) + 1;
    default:
      return 0;
  }
}

/**
 * Writes into `mask` (indices into LEXEMES) the lexemes that may follow such that the trace can be completed within
 * `budget` more lexemes (this one included; <end> not counted); <end> exactly between steps. Returns the count.
 */
export function traceAllowedMask(state: TraceState, budget: number, mask: Uint8Array): number {
  if (mask.length < LEXEMES.length) throw new RangeError(`mask needs ${LEXEMES.length} entries`);
  switch (state.phase) {
    case 'between': {
      if (budget < MIN_TRACE_STEP) {
        mask.fill(0);
        mask[0] = 1;
        return 1;
      }
      // an operation's lexeme l costs its program cost − `; }` + `⇒` value `;`
      const count = allowedMask(state.start, budget - 1, mask);
      mask[STEP_END_ID] = 0;
      mask[0] = 1;
      return count + 1;
    }
    case 'operation': {
      let count = allowedMask(state.expr, budget - 1, mask);
      if (mask[STEP_END_ID] === 1) {
        mask[STEP_END_ID] = 0; // where the program's `;` could come, the step's `⇒` may
        mask[ARROW_ID] = 1;
      }
      if (mask[0] === 1) {
        mask[0] = 0;
        count--;
      }
      return count;
    }
    case 'value':
      return valueStepMask(state.value, budget, mask);
    default:
      mask.fill(0);
      return 0;
  }
}

/**
 * Inside a step's value (a trace's or a scaffolded trace's): writes into `mask` what the value grammar allows within
 * `budget` more lexemes with the step's `;` counted, and `;` where the value may end. Returns the count.
 */
export function valueStepMask(value: AutomatonState, budget: number, mask: Uint8Array): number {
  const count = allowedMask(value, budget - 1, mask);
  if (mask[0] === 1) {
    mask[0] = 0; // where the value may end, the step's `;` may come
    mask[STEP_END_ID] = 1;
  }
  return count;
}

/** The state after `lexeme`, or undefined when it may not come here (no budget applied). */
export function traceStep(state: TraceState, lexeme: string): TraceState | undefined {
  switch (state.phase) {
    case 'between': {
      if (lexeme === END) return { phase: 'ended' };
      if (lexeme === STEP_END) return undefined;
      const next = step(state.start, lexeme);
      return next ? { phase: 'operation', start: state.start, expr: next.state } : undefined;
    }
    case 'operation': {
      if (lexeme === TRACE_ARROW)
        return step(state.expr, STEP_END) ? { phase: 'value', start: state.start, value: start('value') } : undefined;
      if (lexeme === STEP_END || lexeme === END) return undefined;
      const next = step(state.expr, lexeme);
      return next ? { phase: 'operation', start: state.start, expr: next.state } : undefined;
    }
    case 'value': {
      if (lexeme === STEP_END) return isComplete(state.value) ? { phase: 'between', start: state.start } : undefined;
      if (lexeme === END) return undefined;
      const next = step(state.value, lexeme);
      return next ? { phase: 'value', start: state.start, value: next.state } : undefined;
    }
    default:
      return undefined;
  }
}

/** The state after `lexeme`; throws TaskLanguageError when it may not come here. */
export function traceAdvance(state: TraceState, lexeme: string): TraceState {
  const next = traceStep(state, lexeme);
  if (!next) throw new TaskLanguageError(`${JSON.stringify(lexeme)} may not come here in a trace (${state.phase})`);
  return next;
}

/** True when `lexemes` (no <end>) form a complete, well-formed trace for a program taking `params`. */
export function acceptsTrace(lexemes: readonly string[], params: readonly string[] = []): boolean {
  let s: TraceState | undefined = traceStart(params);
  for (const l of lexemes) {
    s = traceStep(s, l);
    if (!s) return false;
  }
  return traceComplete(s);
}

/** The number of steps in a well-formed trace (its `⇒` count). */
export function traceSteps(lexemes: readonly string[]): number {
  let n = 0;
  for (const l of lexemes) if (l === TRACE_ARROW) n++;
  return n;
}
