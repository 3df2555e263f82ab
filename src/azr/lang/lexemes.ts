// The task language's lexemes: the embedded model's whole vocabulary, in a stable order.

import { BINARY_OPS, POSTFIX_FORMS, PREFIX_CALLS, SIGNATURES } from './grammar.js';

/** Smallest integer that is one lexeme (and so the smallest expressible integer value). */
export const INT_MIN = -9;
/** Largest integer that is one lexeme (and so the largest expressible integer value). */
export const INT_MAX = 29;
/** Longest expressible string value (characters). */
export const MAX_STR_LEN = 8;
/** Longest expressible array value (elements). */
export const MAX_ARR_LEN = 6;
/** The characters strings are made of; each is one lexeme. `a` doubles as the name of the `any` parameter. */
export const ALPHABET: readonly string[] = ['a', 'b', 'c', 'd', 'e', 'A', 'B', 'C', 'D', 'E'];
/** Most words in an induction message. */
export const MAX_MESSAGE_WORDS = 4;
/** Largest number of inputs an induction proposal may be asked for (the paper asks for 10). */
export const MAX_INDUCTION_INPUTS = 16;

/**
 * The words an induction message is made of: a hint from the proposer to the solver ("reverse each", "keep
 * even"). Never a lexeme of the program language, so a message cannot carry code.
 */
export const MESSAGE_WORDS: readonly string[] = [
  'same',
  'input',
  'constant',
  'length',
  'reverse',
  'sort',
  'each',
  'keep',
  'contains',
  'add',
  'minus',
  'times',
  'remainder',
  'compare',
  'equal',
  'when',
  'not',
  'both',
  'either',
  'part',
  'upper',
  'lower',
  'split',
  'join',
  'position',
  'first',
  'last',
  'max',
  'min',
  'absolute',
  'total',
  'all',
  'any',
  'replace',
  'starts',
  'ends',
  'item',
  'letters',
  'numbers',
  'pair',
];

/** The end marker: allowed exactly when the segment so far is complete. */
export const END = '<end>';
/** Separates the inputs of an induction proposal (also the statement terminator of programs). */
export const INPUT_SEPARATOR = ';';
/** Opens the message of an induction proposal. */
export const MESSAGE_START = '//';

/** Ends the left side of a reasoning-trace step: `operation ⇒ value ;` (src/azr/trace.ts). */
export const TRACE_ARROW = '⇒';

/** Names a variable may have: the parameters (typed by name) and the lambda variables `x` and `p`. */
export const VARIABLE_NAMES: readonly string[] = ['a', 'n', 'm', 's', 't', 'xs', 'ys', 'x', 'p'];

/** Integer lexemes, INT_MIN..INT_MAX, in increasing order. */
export const INT_LEXEMES: readonly string[] = Array.from({ length: INT_MAX - INT_MIN + 1 }, (_, i) =>
  String(INT_MIN + i),
);

function buildLexemes(): readonly string[] {
  const out: string[] = [];
  const add = (l: string) => {
    if (!out.includes(l)) out.push(l);
  };
  add(END);
  for (const sig of SIGNATURES) add(sig.header);
  for (const l of ['return', 'if (', ';', '}']) add(l);
  for (const v of VARIABLE_NAMES) add(v);
  for (const l of INT_LEXEMES) add(l);
  for (const l of ['true', 'false', '"', '""']) add(l);
  for (const c of ALPHABET) add(c);
  for (const l of ['[', ']', '[]', ',', '(', ')']) add(l);
  for (const op of BINARY_OPS) add(op.lexeme);
  for (const l of ['!', '?', ':']) add(l);
  for (const f of POSTFIX_FORMS) add(f.open);
  for (const c of PREFIX_CALLS) add(c.open);
  add(MESSAGE_START);
  for (const w of MESSAGE_WORDS) add(w);
  add(TRACE_ARROW);
  return Object.freeze(out);
}

/**
 * Every lexeme of the task language — program, value, argument-list and induction-proposal lexemes — in a stable
 * order, then the reasoning trace's arrow {@link TRACE_ARROW}; `LEXEMES[0]` is the end marker {@link END}. A lexeme is a short run of JavaScript tokens (`.slice(`,
 * `function f(s, n) {`) or one character of a string literal. The same string has one entry even where it plays two
 * roles (`a` is a character and the `any` parameter; `;` ends a statement and separates induction inputs).
 */
export const LEXEMES: readonly string[] = buildLexemes();

const ID = new Map(LEXEMES.map((l, i) => [l, i] as const));

/** Index of a lexeme in {@link LEXEMES}, or -1 if it is not one. */
export function lexemeId(lexeme: string): number {
  return ID.get(lexeme) ?? -1;
}
