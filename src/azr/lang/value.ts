// Values of the task language: which values are expressible, their lexemes and source, and value equality.

import type { ValueType } from './grammar.js';
import { ALPHABET, INT_MAX, INT_MIN, MAX_ARR_LEN, MAX_STR_LEN } from './lexemes.js';

/** A value a solver can write: a small integer, a boolean, a short string over ALPHABET, a short integer array. */
export type Value = number | string | boolean | readonly number[];

const CHARS = new Set(ALPHABET);

function isSmallInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX;
}

/**
 * The expressibility rule: a program's output (or an input) is a value of the task language only if the value
 * grammar can write it — an integer in INT_MIN..INT_MAX (−0 is written `0`), `true`/`false`, a string of at
 * most MAX_STR_LEN characters from ALPHABET, or an array of at most MAX_ARR_LEN such integers. Anything else
 * (undefined, NaN, fractions, larger numbers, longer strings, other characters, string arrays, objects) is not,
 * and a proposal whose output is not expressible is invalid: no solver could write the answer.
 */
export function isExpressible(v: unknown): v is Value {
  return valueType(v) !== undefined;
}

/** The type of an expressible value, or undefined when the value is not expressible. */
export function valueType(v: unknown): ValueType | undefined {
  if (typeof v === 'boolean') return 'bool';
  if (isSmallInt(v)) return 'int';
  if (typeof v === 'string') {
    if (v.length > MAX_STR_LEN) return undefined;
    for (const c of v) if (!CHARS.has(c)) return undefined;
    return 'str';
  }
  if (Array.isArray(v)) {
    if (v.length > MAX_ARR_LEN) return undefined;
    for (let i = 0; i < v.length; i++) if (!(i in v) || !isSmallInt(v[i])) return undefined;
    return 'arr';
  }
  return undefined;
}

/**
 * The canonical copy of a value (a plain array even when it came from another realm, `0` for `−0`), or
 * undefined when it is not expressible.
 */
export function canonicalValue(v: unknown): Value | undefined {
  const t = valueType(v);
  if (t === undefined) return undefined;
  if (t === 'int') return (v as number) + 0;
  if (t === 'arr') return Array.from(v as readonly number[], (x) => x + 0);
  return v as Value;
}

/** Equality of values: same type and same content (arrays element by element). */
export function valueEquals(a: Value, b: Value): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return a === b;
}

/** The lexemes that write an expressible value (`[1, 2]` is `[ 1 , 2 ]`, `"ab"` is `" a b "`). */
export function valueLexemes(v: Value): string[] {
  const t = valueType(v);
  switch (t) {
    case 'int':
      return [String((v as number) + 0)];
    case 'bool':
      return [String(v)];
    case 'str':
      return v === '' ? ['""'] : ['"', ...(v as string), '"'];
    case 'arr': {
      const xs = v as readonly number[];
      if (xs.length === 0) return ['[]'];
      const out = ['['];
      xs.forEach((x, i) => {
        if (i > 0) out.push(',');
        out.push(String(x + 0));
      });
      out.push(']');
      return out;
    }
    default:
      throw new RangeError(`not an expressible value: ${describe(v)}`);
  }
}

/** JavaScript source of an expressible value, canonical: `3`, `true`, `"ab"`, `[1, 2]`. */
export function valueSource(v: Value): string {
  const t = valueType(v);
  if (t === undefined) throw new RangeError(`not an expressible value: ${describe(v)}`);
  if (t === 'str') return `"${v as string}"`;
  if (t === 'arr') return `[${(v as readonly number[]).map((x) => String(x + 0)).join(', ')}]`;
  return String(t === 'int' ? (v as number) + 0 : v);
}

/** Source of an argument list: `"ab", 3`. */
export function argsSource(values: readonly Value[]): string {
  return values.map(valueSource).join(', ');
}

/** Lexemes of an argument list: the values' lexemes separated by `,`. */
export function argsLexemes(values: readonly Value[]): string[] {
  const out: string[] = [];
  values.forEach((v, i) => {
    if (i > 0) out.push(',');
    out.push(...valueLexemes(v));
  });
  return out;
}

/** Reads the values written by a run of value lexemes separated by `,` (an argument list, or one value). */
export function valuesFromLexemes(lexemes: readonly string[]): Value[] {
  const out: Value[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new RangeError(`not a value list at lexeme ${i} (${JSON.stringify(lexemes[i] ?? '<end>')}): ${why}`);
  };
  const int = (l: string | undefined): number => {
    const n = l === undefined ? NaN : Number(l);
    if (!/^-?\d+$/.test(l ?? '') || !isSmallInt(n)) fail('expected an integer lexeme');
    return n;
  };
  while (i < lexemes.length) {
    if (out.length > 0) {
      if (lexemes[i] !== ',') fail('expected ,');
      i++;
    }
    const l = lexemes[i];
    if (l === 'true' || l === 'false') {
      out.push(l === 'true');
      i++;
    } else if (l === '""') {
      out.push('');
      i++;
    } else if (l === '[]') {
      out.push([]);
      i++;
    } else if (l === '"') {
      let s = '';
      i++;
      while (lexemes[i] !== '"') {
        const c = lexemes[i];
        if (c === undefined || !CHARS.has(c)) fail('expected a character or "');
        s += c;
        i++;
      }
      i++;
      if (s.length === 0 || s.length > MAX_STR_LEN) fail('string length');
      out.push(s);
    } else if (l === '[') {
      const xs: number[] = [];
      i++;
      for (;;) {
        xs.push(int(lexemes[i]));
        i++;
        if (lexemes[i] === ']') break;
        if (lexemes[i] !== ',') fail('expected , or ]');
        i++;
      }
      i++;
      if (xs.length > MAX_ARR_LEN) fail('array length');
      out.push(xs);
    } else {
      out.push(int(l));
      i++;
    }
  }
  return out;
}

/** Reads the one value written by value lexemes. */
export function valueFromLexemes(lexemes: readonly string[]): Value {
  const vs = valuesFromLexemes(lexemes);
  if (vs.length !== 1) throw new RangeError(`expected one value, got ${vs.length}`);
  return vs[0]!;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v);
  if (Array.isArray(v)) return `array(${v.length})`;
  return String(v);
}
