// Seeded generators of programs (a weighted walk through the automaton), values and argument lists.

import { minToFinish, nextOptions, start, step, type AutomatonState } from './automaton.js';
import { compiledGrammar } from './compileGrammar.js';
import {
  BINARY_OPS,
  PARAM_TYPES,
  SIGNATURES,
  VALUE_TYPES,
  type LangType,
  type ParamName,
  type ValueType,
} from './grammar.js';
import { ALPHABET, END, INT_MAX, INT_MIN, MAX_ARR_LEN, MAX_STR_LEN, VARIABLE_NAMES } from './lexemes.js';
import { endsUnit, joinLexemes } from './render.js';
import type { Rng } from '../rng.js';
import type { Value } from './value.js';

/** Options of {@link generateProgram}. */
interface ProgramOptions {
  /** Fix the signature (e.g. `['s', 'n']`); otherwise one is drawn, the `any` signature rarely. */
  readonly params?: readonly ParamName[];
  /** The size knob: lexemes the program should have; longer continuations get exponentially less likely. */
  readonly targetLength?: number;
  /** Hard cap on lexemes (the walk never passes it: the automaton's budget). */
  readonly maxLength?: number;
  /** Redraw programs that never read a parameter (constant programs). Default true. */
  readonly requireParamUse?: boolean;
  /** Allow programs that only return a parameter (`return s;`), the identity seeds' kind. Default false. */
  readonly allowIdentity?: boolean;
}

/** A generated program: its lexemes, canonical source and parameters. */
export interface GeneratedProgram {
  readonly lexemes: readonly string[];
  readonly source: string;
  readonly params: readonly ParamName[];
}

const OPERATORS = new Set(BINARY_OPS.map((o) => o.lexeme));
const LOWER = ALPHABET.filter((c) => c === c.toLowerCase());
const SIGNATURE_WEIGHT: Readonly<Record<string, number>> = { a: 0.15 };

/** Prior weight of a lexeme in a program, before the length pressure (hand-tuned for varied, mostly valid programs). */
function programWeight(lexeme: string, inString: boolean, prev: string | null): number {
  if (inString) return lexeme === '"' ? 1.2 : LOWER.includes(lexeme) ? 1 : 0.25;
  if (lexeme.startsWith('function f(')) {
    const sig = SIGNATURES.find((s) => s.header === lexeme)!;
    return SIGNATURE_WEIGHT[sig.id] ?? 1;
  }
  // right operands lean to constants, so `n > n` and `x !== x` stay rare
  const afterOperator = prev !== null && OPERATORS.has(prev);
  if (/^-?\d+$/.test(lexeme)) {
    const n = Number(lexeme);
    return (afterOperator ? 2 : 1) * (n >= 0 && n <= 5 ? 0.6 : n > 5 && n <= 9 ? 0.2 : n < 0 ? 0.04 : 0.02);
  }
  switch (lexeme) {
    case 'return':
      return 1;
    case 'if (':
      return 0.12;
    case 'a':
    case 'n':
    case 'm':
    case 's':
    case 't':
    case 'xs':
    case 'ys':
      return afterOperator ? 1.5 : 5;
    case 'x':
    case 'p':
      return afterOperator ? 3 : 10;
    case 'true':
    case 'false':
      return 0.12;
    case '""':
      return 0.3;
    case '"':
      return 0.5;
    case '[]':
      return 0.12;
    case '[':
      return prev !== null && endsUnit(prev) ? 0.4 : 0.2;
    case ',':
      return 0.8;
    case ']':
    case ')':
    case ';':
    case '}':
    case ':':
      return 3;
    case '(':
    case '!':
      return 0.2;
    case 'Math.max(':
    case 'Math.min(':
    case 'Math.abs(':
      return 0.2;
    case '*':
    case '%':
    case '+':
    case '-':
      return 0.6;
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '===':
    case '!==':
      return 0.35;
    case '&&':
    case '||':
    case '?':
      return 0.25;
    case '.length':
      return 1.2;
    case END:
      return 1;
    default:
      return lexeme.startsWith('.') ? 1 : 0.5;
  }
}

/**
 * A random program from the grammar: a walk through the automaton that picks each lexeme by its prior weight
 * times `0.3^(overshoot)`, where overshoot is how far the shortest completion after it would pass
 * `targetLength`. Every program it returns is complete, type-correct and at most `maxLength` lexemes.
 */
export function generateProgram(rng: Rng, options: ProgramOptions = {}): GeneratedProgram {
  const target = options.targetLength ?? 14;
  const max = options.maxLength ?? 40;
  const requireUse = options.requireParamUse ?? true;
  const allowIdentity = options.allowIdentity ?? false;
  const g = compiledGrammar();
  const first = start('program', options.params ? { params: options.params } : undefined);
  if (minToFinish(first) > max)
    throw new RangeError(`maxLength ${max} is below the shortest program (${minToFinish(first)} lexemes)`);
  for (let attempt = 0; ; attempt++) {
    let state: AutomatonState = first;
    const out: string[] = [];
    let inString = false;
    let prev: string | null = null;
    let usesParam = false;
    for (;;) {
      const opts = nextOptions(state).filter((o) => o.cost <= max - out.length);
      const weights = opts.map((o) => {
        const over = out.length + o.cost - target;
        return programWeight(o.lexeme, inString, prev) * (over > 0 ? 0.3 ** over : 1);
      });
      const total = weights.reduce((a, w) => a + w, 0);
      const pick = (total > 0 ? opts[rng.weighted(weights)]! : opts.reduce((a, o) => (o.cost < a.cost ? o : a))).lexeme;
      if (pick === END) break;
      const r = step(state, pick)!;
      state = r.state;
      const term = g.terminals[r.terminal]!;
      if (term.role === 'variable' && term.lexeme !== 'x' && term.lexeme !== 'p') usesParam = true;
      out.push(pick);
      if (pick === '"') {
        inString = !inString;
        prev = inString ? pick : '""';
      } else if (!inString) prev = pick;
    }
    if (attempt < 50) {
      if (requireUse && !usesParam) continue;
      if (!allowIdentity && out.length === 5 && out[1] === 'return' && VARIABLE_NAMES.includes(out[2]!)) continue;
    }
    const params = SIGNATURES.find((s) => s.header === out[0])!.params;
    return { lexemes: out, source: joinLexemes(out), params };
  }
}

/** Options of the value generators: the shapes inputs are drawn from (all within the value grammar). */
interface ValueOptions {
  /** Longest string drawn (≤ MAX_STR_LEN). Default 5. */
  readonly maxStrLen?: number;
  /** Longest array drawn (≤ MAX_ARR_LEN). Default 5. */
  readonly maxArrLen?: number;
}

function smallInt(rng: Rng): number {
  const r = rng.next();
  const n = r < 0.7 ? rng.range(0, 9) : r < 0.85 ? rng.range(-5, -1) : rng.range(10, 20);
  return Math.min(INT_MAX, Math.max(INT_MIN, n));
}

function length(rng: Rng, max: number): number {
  // mostly 1..4 long, sometimes empty or up to max
  const r = rng.next();
  if (r < 0.08) return 0;
  return r < 0.85 ? rng.range(1, Math.min(4, max)) : rng.range(1, max);
}

/** A random value of `type` (any value type when omitted), within the value grammar. */
export function generateValue(rng: Rng, type?: ValueType, options: ValueOptions = {}): Value {
  const t = type ?? rng.pick(VALUE_TYPES);
  const maxStr = Math.min(options.maxStrLen ?? 5, MAX_STR_LEN);
  const maxArr = Math.min(options.maxArrLen ?? 5, MAX_ARR_LEN);
  switch (t) {
    case 'int':
      return smallInt(rng);
    case 'bool':
      return rng.chance(0.5);
    case 'str': {
      const n = length(rng, maxStr);
      let s = '';
      for (let i = 0; i < n; i++) s += rng.chance(0.85) ? rng.pick(LOWER) : rng.pick(ALPHABET);
      return s;
    }
    case 'arr':
      return Array.from({ length: length(rng, maxArr) }, () => (rng.chance(0.9) ? rng.range(0, 9) : smallInt(rng)));
  }
}

/** A random argument list for the parameters (the `any` parameter gets a value of a random type). */
export function generateArgs(rng: Rng, params: readonly ParamName[], options: ValueOptions = {}): Value[] {
  return params.map((p) => {
    const t: LangType = PARAM_TYPES[p];
    return generateValue(rng, t === 'any' || t === 'strs' ? undefined : t, options);
  });
}
