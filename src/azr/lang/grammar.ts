// The task language's grammar as data: types, signatures, methods, operators and precedence levels.

/** Types of values a solver can write (and that a program may return or take). */
export type ValueType = 'int' | 'str' | 'bool' | 'arr';
/**
 * Types inside programs: the value types, `strs` (the string array that `.split(` makes; it must be joined,
 * indexed or measured before it can be returned) and `any` (the parameter `a`, which can only be returned).
 */
export type LangType = ValueType | 'strs' | 'any';

export const LANG_TYPES: readonly LangType[] = ['int', 'str', 'bool', 'arr', 'strs', 'any'];
export const VALUE_TYPES: readonly ValueType[] = ['int', 'str', 'bool', 'arr'];

/** Parameter names; a parameter's type is fixed by its name, so arguments can be constrained to it. */
export type ParamName = 'a' | 'n' | 'm' | 's' | 't' | 'xs' | 'ys';

export const PARAM_TYPES: Readonly<Record<ParamName, LangType>> = {
  a: 'any',
  n: 'int',
  m: 'int',
  s: 'str',
  t: 'str',
  xs: 'arr',
  ys: 'arr',
};

/** Types of the lambda variables: `x` is the element in `.map(x =>` etc., `p` the accumulator of `.reduce((p, x) =>`. */
export const LAMBDA_VAR_TYPES: Readonly<Record<'x' | 'p', LangType>> = { x: 'int', p: 'int' };

/** A function signature: its header lexeme and its parameters. */
export interface Signature {
  /** e.g. `s,n` */
  readonly id: string;
  /** The header lexeme, e.g. `function f(s, n) {`. */
  readonly header: string;
  readonly params: readonly ParamName[];
}

const sig = (...params: ParamName[]): Signature => ({
  id: params.join(','),
  header: `function f(${params.join(', ')}) {`,
  params,
});

/** The signatures a program may have (one or two parameters). `a` is the identity seed's parameter. */
export const SIGNATURES: readonly Signature[] = [
  sig('a'),
  sig('n'),
  sig('s'),
  sig('xs'),
  sig('n', 'm'),
  sig('s', 'n'),
  sig('xs', 'n'),
  sig('s', 't'),
  sig('xs', 'ys'),
];

/** The signature with these parameter names, or undefined. */
export function signatureOf(params: readonly string[]): Signature | undefined {
  const id = params.join(',');
  return SIGNATURES.find((s) => s.id === id);
}

/** An argument slot of a method or call; `lambda` makes it the body of `x => …` or `(p, x) => …`. */
export interface Slot {
  readonly type: LangType;
  readonly lambda?: 'x' | 'px';
}

/**
 * A postfix form (member access, method call or index) applied to a receiver: lexemes `open`, the slots
 * separated by `,`, then `close`. Slots from `optionalFrom` on may be left out.
 */
export interface PostfixForm {
  readonly open: string;
  readonly receiver: LangType;
  readonly slots: readonly Slot[];
  readonly optionalFrom?: number;
  readonly close: ')' | ']' | null;
  readonly result: LangType;
}

const pf = (
  open: string,
  receiver: LangType,
  slots: readonly (LangType | Slot)[],
  result: LangType,
  close: ')' | ']' | null = slots.length > 0 ? ')' : null,
  optionalFrom?: number,
): PostfixForm => ({
  open,
  receiver,
  slots: slots.map((s) => (typeof s === 'string' ? { type: s } : s)),
  close,
  result,
  ...(optionalFrom === undefined ? {} : { optionalFrom }),
});

/** Methods, properties and indexing, by receiver type. `open` lexemes are shared across receivers. */
export const POSTFIX_FORMS: readonly PostfixForm[] = [
  // strings
  pf('.length', 'str', [], 'int'),
  pf('.slice(', 'str', ['int', 'int'], 'str', ')', 1),
  pf('.split(', 'str', ['str'], 'strs'),
  pf('.includes(', 'str', ['str'], 'bool'),
  pf('.startsWith(', 'str', ['str'], 'bool'),
  pf('.endsWith(', 'str', ['str'], 'bool'),
  pf('.indexOf(', 'str', ['str'], 'int'),
  pf('.toUpperCase()', 'str', [], 'str'),
  pf('.toLowerCase()', 'str', [], 'str'),
  pf('.at(', 'str', ['int'], 'str'),
  pf('.replace(', 'str', ['str', 'str'], 'str'),
  pf('[', 'str', ['int'], 'str', ']'),
  // integer arrays
  pf('.length', 'arr', [], 'int'),
  pf('.slice(', 'arr', ['int', 'int'], 'arr', ')', 1),
  pf('.reverse()', 'arr', [], 'arr'),
  pf('.sort((u, v) => u - v)', 'arr', [], 'arr'),
  pf('.includes(', 'arr', ['int'], 'bool'),
  pf('.indexOf(', 'arr', ['int'], 'int'),
  pf('.map(x =>', 'arr', [{ type: 'int', lambda: 'x' }], 'arr'),
  pf('.filter(x =>', 'arr', [{ type: 'bool', lambda: 'x' }], 'arr'),
  pf('.some(x =>', 'arr', [{ type: 'bool', lambda: 'x' }], 'bool'),
  pf('.every(x =>', 'arr', [{ type: 'bool', lambda: 'x' }], 'bool'),
  pf('.reduce((p, x) =>', 'arr', [{ type: 'int', lambda: 'px' }, 'int'], 'int'),
  pf('.concat(', 'arr', ['arr'], 'arr'),
  pf('.at(', 'arr', ['int'], 'int'),
  pf('[', 'arr', ['int'], 'int', ']'),
  // string arrays (from .split)
  pf('.length', 'strs', [], 'int'),
  pf('.reverse()', 'strs', [], 'strs'),
  pf('.sort()', 'strs', [], 'strs'),
  pf('.join(', 'strs', ['str'], 'str'),
  pf('.slice(', 'strs', ['int', 'int'], 'strs', ')', 1),
  pf('.includes(', 'strs', ['str'], 'bool'),
  pf('.indexOf(', 'strs', ['str'], 'int'),
  pf('[', 'strs', ['int'], 'str', ']'),
];

/** Calls that start an expression: `Math.max(n, m)`. */
interface PrefixCall {
  readonly open: string;
  readonly slots: readonly LangType[];
  readonly result: LangType;
}

export const PREFIX_CALLS: readonly PrefixCall[] = [
  { open: 'Math.max(', slots: ['int', 'int'], result: 'int' },
  { open: 'Math.min(', slots: ['int', 'int'], result: 'int' },
  { open: 'Math.abs(', slots: ['int'], result: 'int' },
];

/**
 * JavaScript precedence levels the grammar follows, tightest first. An operand of an operator at level L is a
 * phrase of level L − 1, so every program means what its rendering means to a JavaScript parser.
 */
export const LEVEL = {
  postfix: 0,
  unary: 1,
  multiplicative: 2,
  additive: 3,
  relational: 4,
  equality: 5,
  and: 6,
  or: 7,
  conditional: 8,
} as const;

/** A binary operator: `left lexeme right` at `level`, typed. */
interface BinaryOp {
  readonly lexeme: string;
  readonly level: number;
  readonly left: LangType;
  readonly right: LangType;
  readonly result: LangType;
}

const op = (lexeme: string, level: number, left: LangType, right: LangType, result: LangType): BinaryOp => ({
  lexeme,
  level,
  left,
  right,
  result,
});

/** Binary operators (`/` is left out: it makes fractions, which are not values of the language). */
export const BINARY_OPS: readonly BinaryOp[] = [
  op('*', LEVEL.multiplicative, 'int', 'int', 'int'),
  op('%', LEVEL.multiplicative, 'int', 'int', 'int'),
  op('+', LEVEL.additive, 'int', 'int', 'int'),
  op('+', LEVEL.additive, 'str', 'str', 'str'),
  op('-', LEVEL.additive, 'int', 'int', 'int'),
  op('<', LEVEL.relational, 'int', 'int', 'bool'),
  op('<=', LEVEL.relational, 'int', 'int', 'bool'),
  op('>', LEVEL.relational, 'int', 'int', 'bool'),
  op('>=', LEVEL.relational, 'int', 'int', 'bool'),
  op('===', LEVEL.equality, 'int', 'int', 'bool'),
  op('===', LEVEL.equality, 'str', 'str', 'bool'),
  op('===', LEVEL.equality, 'bool', 'bool', 'bool'),
  op('!==', LEVEL.equality, 'int', 'int', 'bool'),
  op('!==', LEVEL.equality, 'str', 'str', 'bool'),
  op('!==', LEVEL.equality, 'bool', 'bool', 'bool'),
  op('&&', LEVEL.and, 'bool', 'bool', 'bool'),
  op('||', LEVEL.or, 'bool', 'bool', 'bool'),
];

/** Types a program may return: every value type and `any` (the identity), never `strs`. */
export const RETURN_TYPES: readonly LangType[] = ['int', 'str', 'bool', 'arr', 'any'];
