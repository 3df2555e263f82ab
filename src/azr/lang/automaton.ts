// The incremental constraint automaton over the task language: which lexemes may come next, within a budget.

import { PAPER_DEFAULTS } from '../defaults.js';
import { compiledGrammar, MARKER, type CompiledGrammar } from './compileGrammar.js';
import { SIGNATURES, signatureOf, type ParamName, type Signature } from './grammar.js';
import { END, LEXEMES, MAX_INDUCTION_INPUTS, lexemeId } from './lexemes.js';

/**
 * What a segment is:
 * - `program`: `function f(…) { … }`;
 * - `value`: one value (a deduction answer);
 * - `args`: an argument list for given parameters (an abduction answer, a proposal's input);
 * - `inputs+message`: an induction proposal, N argument lists separated by `;`, then `//` and a few words.
 */
export type SegmentKind = 'program' | 'value' | 'args' | 'inputs+message';

/**
 * What a segment depends on: the parameters (required for `args` and `inputs+message`; for `program` it fixes
 * the header, e.g. an induction answer must take the task's parameters) and, for `inputs+message`, how many
 * inputs (the paper's N = 10).
 */
export interface SegmentContext {
  readonly params?: readonly string[];
  readonly inputs?: number;
}

interface StackNode {
  readonly sym: number;
  readonly next: StackNode | null;
  /** Least number of lexemes that completes this symbol and everything below it. */
  readonly rest: number;
}

/** A point inside a segment. Immutable: `advance` returns a new state and leaves the old one usable. */
export interface AutomatonState {
  readonly kind: SegmentKind;
  /** @internal the parser stack */
  readonly stack: StackNode | null;
  /** @internal parameters in scope (bits), lambda depth and reduce depth */
  readonly scope: number;
  /** True once the end marker has been consumed. */
  readonly ended: boolean;
}

const G: () => CompiledGrammar = compiledGrammar;

const PARAM_BITS: Readonly<Record<string, number>> = { a: 0, n: 1, m: 2, s: 3, t: 4, xs: 5, ys: 6 };
const LAMBDA_ONE = 1 << 8;
const REDUCE_ONE = 1 << 16;

function paramMask(params: readonly ParamName[]): number {
  return params.reduce((m, p) => m | (1 << PARAM_BITS[p]!), 0);
}

function inScope(g: CompiledGrammar, t: number, scope: number): boolean {
  const term = g.terminals[t]!;
  if (term.role !== 'variable') return true;
  const name = term.lexeme;
  if (name === 'x') return (scope & 0xff00) !== 0;
  if (name === 'p') return (scope & 0xff0000) !== 0;
  return (scope & (1 << PARAM_BITS[name]!)) !== 0;
}

function applyMarker(g: CompiledGrammar, sym: number, scope: number): number {
  switch (sym - g.markerBase) {
    case MARKER.enterX:
      return scope + LAMBDA_ONE;
    case MARKER.exitX:
      return scope - LAMBDA_ONE;
    case MARKER.enterPX:
      return scope + LAMBDA_ONE + REDUCE_ONE;
    default:
      return scope - LAMBDA_ONE - REDUCE_ONE;
  }
}

function push(g: CompiledGrammar, below: StackNode | null, syms: Int32Array): StackNode | null {
  let node = below;
  for (let i = syms.length - 1; i >= 0; i--) {
    const sym = syms[i]!;
    node = { sym, next: node, rest: g.minLen[sym]! + (node ? node.rest : 0) };
  }
  return node;
}

/** Thrown for a lexeme the segment cannot take, or a malformed start. */
export class TaskLanguageError extends Error {
  override name = 'TaskLanguageError';
}

function signatureFor(kind: SegmentKind, context: SegmentContext | undefined): Signature | undefined {
  if (context?.params === undefined) return undefined;
  const s = signatureOf(context.params);
  if (!s)
    throw new TaskLanguageError(
      `no signature (${context.params.join(', ')}) for a ${kind}; the signatures are ${SIGNATURES.map((x) => `(${x.id})`).join(' ')}`,
    );
  return s;
}

/** The state at the beginning of a segment of `kind`. */
export function start(kind: SegmentKind, context?: SegmentContext): AutomatonState {
  const g = G();
  const sig = signatureFor(kind, context);
  let key: string;
  switch (kind) {
    case 'program':
      key = sig ? `program:${sig.id}` : 'program';
      break;
    case 'value':
      key = 'value';
      break;
    case 'args':
      if (!sig) throw new TaskLanguageError('an args segment needs context.params');
      key = `args:${sig.id}`;
      break;
    case 'inputs+message': {
      if (!sig) throw new TaskLanguageError('an inputs+message segment needs context.params');
      const n = context?.inputs ?? PAPER_DEFAULTS.inductionInputs;
      if (!Number.isInteger(n) || n < 1 || n > MAX_INDUCTION_INPUTS)
        throw new TaskLanguageError(`inputs must be an integer in 1..${MAX_INDUCTION_INPUTS}, got ${n}`);
      key = `inputs:${sig.id}:${n}`;
      break;
    }
    default:
      throw new TaskLanguageError(`unknown segment kind ${String(kind)}`);
  }
  const sym = g.starts.get(key)!;
  return { kind, stack: { sym, next: null, rest: g.minLen[sym]! }, scope: 0, ended: false };
}

/**
 * Calls `visit(terminal, cost)` for each terminal that may come next, where `cost` is the least number of
 * lexemes (this one included) that completes the segment after choosing it. Returns whether the segment may
 * end here.
 */
function forEachNext(state: AutomatonState, visit: (t: number, cost: number) => void): boolean {
  if (state.ended) return false;
  const g = G();
  const T = g.terminals.length;
  let scope = state.scope;
  for (let node = state.stack; node; node = node.next) {
    const sym = node.sym;
    const below = node.next ? node.next.rest : 0;
    if (sym < T) {
      if (inScope(g, sym, scope)) visit(sym, 1 + below);
      return false;
    }
    if (sym < g.ntBase) {
      scope = applyMarker(g, sym, scope);
      continue;
    }
    const i = sym - g.ntBase;
    const ts = g.firstTerms[i]!;
    const cs = g.firstCost[i]!;
    for (let k = 0; k < ts.length; k++) {
      const t = ts[k]!;
      if (g.terminals[t]!.role === 'variable' && !inScope(g, t, scope)) continue;
      visit(t, cs[k]! + below);
    }
    if (!g.nullable[sym]) return false;
  }
  return true;
}

/**
 * The lexemes that may follow, such that the segment can still be completed within `budget` more lexemes
 * (the lexeme itself included; the end marker not counted). Includes {@link END} exactly when the segment may
 * end here. Exact: every lexeme returned has a completion of at most `budget` lexemes, and every lexeme left
 * out has none.
 */
export function allowedNext(state: AutomatonState, budget: number = Infinity): readonly string[] {
  const g = G();
  const out: string[] = [];
  const canEnd = forEachNext(state, (t, cost) => {
    if (cost <= budget) out.push(g.terminals[t]!.lexeme);
  });
  if (canEnd) out.push(END);
  return out;
}

/** Like {@link allowedNext}, as indices into LEXEMES written into `mask` (1 allowed, 0 not); returns the count. */
export function allowedMask(state: AutomatonState, budget: number, mask: Uint8Array): number {
  if (mask.length < LEXEMES.length) throw new RangeError(`mask needs ${LEXEMES.length} entries`);
  const g = G();
  mask.fill(0);
  let count = 0;
  const canEnd = forEachNext(state, (t, cost) => {
    if (cost <= budget) {
      mask[g.terminals[t]!.lexemeId] = 1;
      count++;
    }
  });
  if (canEnd) {
    mask[0] = 1;
    count++;
  }
  return count;
}

/** One option at a point: a lexeme and the least number of lexemes that completes the segment if it is chosen. */
interface NextOption {
  readonly lexeme: string;
  /** Lexemes, this one included, to the shortest completion; 0 for the end marker. */
  readonly cost: number;
}

/** Every lexeme that may follow, with its completion cost (no budget applied); the end marker has cost 0. */
export function nextOptions(state: AutomatonState): NextOption[] {
  const g = G();
  const out: NextOption[] = [];
  const canEnd = forEachNext(state, (t, cost) => out.push({ lexeme: g.terminals[t]!.lexeme, cost }));
  if (canEnd) out.push({ lexeme: END, cost: 0 });
  return out;
}

/** @internal The terminal ids that may come next (no budget), for the lexer. */
export function nextTerminals(state: AutomatonState): number[] {
  const out: number[] = [];
  forEachNext(state, (t) => out.push(t));
  return out;
}

/** Least number of lexemes (end marker not counted) that completes the segment from here; 0 when complete. */
export function minToFinish(state: AutomatonState): number {
  return state.ended || !state.stack ? 0 : state.stack.rest;
}

/** True when the segment may end here (the end marker is allowed). */
export function isComplete(state: AutomatonState): boolean {
  return !state.ended && minToFinish(state) === 0;
}

/** The terminal the lexeme is at this point, and the state after it; undefined if it is not allowed. */
export function step(state: AutomatonState, lexeme: string): { state: AutomatonState; terminal: number } | undefined {
  if (state.ended) return undefined;
  const g = G();
  const id = lexemeId(lexeme);
  if (id < 0) return undefined;
  if (id === 0) return isComplete(state) ? { state: { ...state, stack: null, ended: true }, terminal: -1 } : undefined;
  const candidates = g.terminalsOfLexeme[id]!;
  const T = g.terminals.length;
  let node = state.stack;
  let scope = state.scope;
  while (node) {
    const sym = node.sym;
    if (sym < T) {
      if (!candidates.includes(sym) || !inScope(g, sym, scope)) return undefined;
      const sig = g.terminals[sym]!.signature;
      if (sig >= 0) scope = (scope & ~0xff) | paramMask(SIGNATURES[sig]!.params);
      return { state: { kind: state.kind, stack: node.next, scope, ended: false }, terminal: sym };
    }
    if (sym < g.ntBase) {
      scope = applyMarker(g, sym, scope);
      node = node.next;
      continue;
    }
    const i = sym - g.ntBase;
    let prod = -1;
    for (const t of candidates) {
      const p = g.predict[i * T + t]!;
      if (p >= 0 && inScope(g, t, scope)) {
        prod = p;
        break;
      }
    }
    if (prod >= 0) node = push(g, node.next, g.productions[prod]!);
    else if (g.nullable[sym]) node = node.next;
    else return undefined;
  }
  return undefined;
}

/** The state after `lexeme`; throws {@link TaskLanguageError} if the lexeme may not come here. */
export function advance(state: AutomatonState, lexeme: string): AutomatonState {
  const r = step(state, lexeme);
  if (!r) {
    const allowed = allowedNext(state);
    throw new TaskLanguageError(
      `${JSON.stringify(lexeme)} may not come here in a ${state.kind}; allowed: ${allowed.slice(0, 12).join(' ')}${allowed.length > 12 ? ' …' : ''}`,
    );
  }
  return r.state;
}

/** The state after each lexeme in turn (no end marker needed); throws on the first one not allowed. */
export function advanceAll(state: AutomatonState, lexemes: readonly string[]): AutomatonState {
  let s = state;
  for (const l of lexemes) s = advance(s, l);
  return s;
}

/** True when `lexemes` form a complete segment of `kind`. */
export function accepts(kind: SegmentKind, lexemes: readonly string[], context?: SegmentContext): boolean {
  let s: AutomatonState | undefined = start(kind, context);
  for (const l of lexemes) {
    s = step(s, l)?.state;
    if (!s) return false;
  }
  return isComplete(s);
}

/** The parameters of a program given as lexemes (its header is the first lexeme), or undefined. */
export function paramsOfProgram(lexemes: readonly string[]): readonly ParamName[] | undefined {
  const header = lexemes[0];
  return SIGNATURES.find((s) => s.header === header)?.params;
}
