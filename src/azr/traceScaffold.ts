// A deduction trace that follows its program (`policy.traceScaffold`): the decoder writes each step's left side —
// the program's next operation on the values the trace has written so far — and the solver writes every value.
//
// The free trace grammar (src/azr/lang/traceAutomaton.ts) lets a step's left side be any expression, so a solver
// must find the next operation in the program and copy its operands from the prompt and from its own earlier steps;
// a model of azr's size does that badly (later steps' left sides right 1–17% of the time, docs/reasoning.md). Here the
// left side is fixed by the program's syntax and by the values as written, never by a value the executor computed:
// a branch follows the test's written value, an operand is the written value restated. Only the values are the
// solver's, and nothing in the trace is checked for truth: a wrong value is carried forward as written, and only the
// answer after the trace is graded. The solver may still end the trace between any two steps (`<end>` first is its
// choice not to reason), and must when the program has returned or cannot go on with the values written.

import { isComplete, minToFinish, start, step, TaskLanguageError, type AutomatonState } from './lang/automaton.js';
import { END, LEXEMES, lexemeId, TRACE_ARROW } from './lang/lexemes.js';
import { valueStepMask } from './lang/traceAutomaton.js';
import { valueFromLexemes, type Value } from './lang/value.js';
import { nextTraceStep, TRACE_STEP_END, type NextTraceStep } from './trace.js';

/** `policy.traceScaffold`: free traces (`off`), or traces that follow the program with operands written so. */
export const TRACE_SCAFFOLDS = ['off', 'names', 'reads'] as const;
export type TraceScaffold = (typeof TRACE_SCAFFOLDS)[number];

/** The task a scaffolded trace follows: the program, the input, and how operands are written. */
export interface TraceScaffoldTask {
  readonly program: string;
  readonly input: string;
  readonly operands: 'names' | 'reads';
}

/** A point inside a scaffolded trace. Immutable. */
export type ScaffoldState =
  | {
      readonly phase: 'between' | 'operation';
      readonly task: TraceScaffoldTask;
      readonly values: readonly Value[];
      /** The next step (its left side is being written in `operation`, `at` lexemes of it so far). */
      readonly next: NextTraceStep;
      readonly at: number;
    }
  | {
      readonly phase: 'value';
      readonly task: TraceScaffoldTask;
      readonly values: readonly Value[];
      readonly value: AutomatonState;
      readonly lexemes: readonly string[];
    }
  | { readonly phase: 'ended' };

const ARROW_ID = lexemeId(TRACE_ARROW);
const END_ID = lexemeId(END);
const LEXEME_IDS = new Map(LEXEMES.map((l, i) => [l, i] as const));

function between(task: TraceScaffoldTask, values: readonly Value[]): ScaffoldState {
  const next = nextTraceStep(task.program, task.input, values, task.operands);
  // a left side the vocabulary cannot write (none is known) cannot be decoded: the trace must end
  const writable = next.kind !== 'step' || next.lhs.every((l) => LEXEME_IDS.has(l));
  return { phase: 'between', task, values, next: writable ? next : { kind: 'stuck' }, at: 0 };
}

/** The state at the start of `task`'s scaffolded trace. */
export function scaffoldStart(task: TraceScaffoldTask): ScaffoldState {
  return between(task, []);
}

/** True when the trace may end here (between steps). */
export function scaffoldComplete(state: ScaffoldState): boolean {
  return state.phase === 'between';
}

/** Least number of lexemes (its <end> not counted) that completes the trace from here. */
export function scaffoldMinToFinish(state: ScaffoldState): number {
  switch (state.phase) {
    case 'operation':
      // the left side's rest, `⇒`, a one-lexeme value, `;`
      return state.next.kind === 'step' ? state.next.lhs.length - state.at + 3 : 0;
    case 'value':
      return minToFinish(state.value) + 1;
    default:
      return 0;
  }
}

/**
 * Writes into `mask` (indices into LEXEMES) the lexemes that may follow within `budget` more lexemes (this one
 * included; <end> not counted): between steps <end>, and the next left side's first lexeme when the whole step fits;
 * inside a left side its next lexeme, then `⇒`; inside a value what the value grammar allows, `;` where it may end.
 */
export function scaffoldAllowedMask(state: ScaffoldState, budget: number, mask: Uint8Array): number {
  if (mask.length < LEXEMES.length) throw new RangeError(`mask needs ${LEXEMES.length} entries`);
  mask.fill(0);
  switch (state.phase) {
    case 'between': {
      mask[END_ID] = 1;
      const next = state.next;
      if (next.kind !== 'step' || next.lhs.length + 3 > budget) return 1;
      mask[LEXEME_IDS.get(next.lhs[0]!)!] = 1;
      return 2;
    }
    case 'operation': {
      if (state.next.kind !== 'step') return 0;
      const lexeme = state.at < state.next.lhs.length ? state.next.lhs[state.at]! : TRACE_ARROW;
      mask[lexeme === TRACE_ARROW ? ARROW_ID : LEXEME_IDS.get(lexeme)!] = 1;
      return 1;
    }
    case 'value':
      return valueStepMask(state.value, budget, mask);
    default:
      return 0;
  }
}

/** The state after `lexeme`; throws TaskLanguageError when it may not come here (no budget applied). */
export function scaffoldAdvance(state: ScaffoldState, lexeme: string): ScaffoldState {
  const refuse = (): never => {
    throw new TaskLanguageError(`${JSON.stringify(lexeme)} may not come here in a scaffolded trace (${state.phase})`);
  };
  switch (state.phase) {
    case 'between':
    case 'operation': {
      if (state.phase === 'between' && lexeme === END) return { phase: 'ended' };
      const next = state.next;
      if (next.kind !== 'step') return refuse();
      if (state.at === next.lhs.length) {
        if (lexeme !== TRACE_ARROW) refuse();
        return { phase: 'value', task: state.task, values: state.values, value: start('value'), lexemes: [] };
      }
      if (lexeme !== next.lhs[state.at]) refuse();
      return { ...state, phase: 'operation', at: state.at + 1 };
    }
    case 'value': {
      if (lexeme === TRACE_STEP_END) {
        if (!isComplete(state.value)) refuse();
        return between(state.task, [...state.values, valueFromLexemes(state.lexemes)]);
      }
      if (lexeme === END) refuse();
      const value = step(state.value, lexeme)?.state ?? refuse();
      return { ...state, value, lexemes: [...state.lexemes, lexeme] };
    }
    default:
      return refuse();
  }
}

/** True when `lexemes` (no <end>) are a complete trace of `task`'s program under the scaffold (no budget applied). */
export function acceptsScaffoldedTrace(task: TraceScaffoldTask, lexemes: readonly string[]): boolean {
  let s = scaffoldStart(task);
  try {
    for (const l of lexemes) s = scaffoldAdvance(s, l);
  } catch (e) {
    if (e instanceof TaskLanguageError || e instanceof RangeError) return false;
    throw e;
  }
  return scaffoldComplete(s);
}
