// Canonical values on the host: the value tree, its canonical text (repr), a parser for value literals, and equality.
//
// The canonical text is a JavaScript expression that evaluates to the value, with one spelling per value:
// object keys sorted by UTF-16 code units, Set elements and Map entries sorted by their own canonical text,
// strings double-quoted as JSON.stringify writes them, numbers as String(n) except NaN, ±Infinity and -0.
// The guest-side serializer (harness.guest.js) writes exactly the same text; tests pin the two together.
//
// Equality is deep SameValueZero: NaN equals NaN, -0 equals 0 (as in Set/Map keys and Array#includes),
// object key order is irrelevant, array order matters (and a hole differs from undefined), Map/Set compare by
// content. The repr keeps -0 visible, so two equal values have the same repr unless one of them contains -0.

import { parseExpressionAt, type Node } from 'acorn';

/** A value the executor can return. `hole` appears only as an array element (a sparse array's missing index). */
export type CanonicalValue =
  | { t: 'undefined' }
  | { t: 'null' }
  | { t: 'boolean'; v: boolean }
  | { t: 'number'; v: number }
  | { t: 'bigint'; v: bigint }
  | { t: 'string'; v: string }
  | { t: 'array'; items: CanonicalValue[] }
  | { t: 'hole' }
  | { t: 'object'; entries: Array<[string, CanonicalValue]> }
  | { t: 'map'; entries: Array<[CanonicalValue, CanonicalValue]> }
  | { t: 'set'; items: CanonicalValue[] };

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function numberText(n: number, negZero: boolean): string {
  if (n !== n) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (n === 0 && 1 / n < 0) return negZero ? '-0' : '0';
  return String(n);
}

/** An object key as written in canonical text: bare identifier, or JSON string; `__proto__` computed. */
function keyText(key: string): string {
  if (key === '__proto__') return '["__proto__"]';
  return IDENT.test(key) ? key : JSON.stringify(key);
}

function render(v: CanonicalValue, negZero: boolean): string {
  switch (v.t) {
    case 'undefined':
      return 'undefined';
    case 'null':
      return 'null';
    case 'boolean':
      return v.v ? 'true' : 'false';
    case 'number':
      return numberText(v.v, negZero);
    case 'bigint':
      return `${v.v}n`;
    case 'string':
      return JSON.stringify(v.v);
    case 'hole':
      return '';
    case 'array': {
      const parts = v.items.map((x) => render(x, negZero));
      const trailingHole = v.items.length > 0 && v.items[v.items.length - 1]!.t === 'hole';
      return `[${parts.join(', ')}${trailingHole ? ',' : ''}]`;
    }
    case 'object': {
      const parts = v.entries.map(([k, x]) => [k, render(x, negZero)] as const);
      parts.sort((a, b) => cmp(a[0], b[0]));
      return `{${parts.map(([k, x]) => `${keyText(k)}: ${x}`).join(', ')}}`;
    }
    case 'map': {
      if (v.entries.length === 0) return 'new Map()';
      const parts = v.entries.map(([k, x]) => [render(k, negZero), render(x, negZero)] as const);
      parts.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
      return `new Map([${parts.map(([k, x]) => `[${k}, ${x}]`).join(', ')}])`;
    }
    case 'set': {
      if (v.items.length === 0) return 'new Set()';
      const parts = v.items.map((x) => render(x, negZero));
      parts.sort(cmp);
      return `new Set([${parts.join(', ')}])`;
    }
  }
}

/** The canonical text of a value (what the executor reports as `output`). */
export function reprValue(v: CanonicalValue): string {
  return render(v, true);
}

/** The equality key of a value: its canonical text with -0 written as 0. `a` equals `b` iff their keys are equal. */
export function valueKey(v: CanonicalValue): string {
  return render(v, false);
}

export type ParseResult = { ok: true; value: CanonicalValue } | { ok: false; error: string };

class NotALiteral extends Error {}

/**
 * Parses a value literal: the canonical text, or any JavaScript spelling of a value built only from literals
 * (`'a'`, `1e3`, `-5n`, `` `x` ``, `[1, , 3]`, `{b: 1, 'a': [2]}`, `new Map([[1, 'x']])`, `new Set([1, 2])`,
 * `undefined`, `NaN`, `-Infinity`, `void 0`). It never evaluates anything: a text that needs evaluation
 * (a call, a variable, a spread) is refused, and callers fall back to the sandbox.
 */
export function parseValue(text: string, maxDepth = 1000): ParseResult {
  const r = parseValueOrExpression(text, maxDepth);
  return r.ok ? r : { ok: false, error: r.error };
}

/**
 * {@link parseValue}; a text that is not a value literal also comes with what {@link parseWholeExpression} made of
 * it (its node, or why it is not one expression), so that a caller checking it next (checkExpression) need not parse
 * it again.
 */
export function parseValueOrExpression(
  text: string,
  maxDepth = 1000,
): { ok: true; value: CanonicalValue } | { ok: false; error: string; parsed: Node | string } {
  const json = fromJsonText(text, maxDepth);
  if (json !== undefined) return { ok: true, value: json };
  const parsed = parseWholeExpression(text);
  if (typeof parsed === 'string') return { ok: false, error: parsed, parsed };
  try {
    return { ok: true, value: fromNode(parsed, 0, maxDepth) };
  } catch (e) {
    if (e instanceof NotALiteral) return { ok: false, error: e.message, parsed };
    if (e instanceof RangeError) return { ok: false, error: 'value nested too deeply', parsed };
    throw e;
  }
}

/**
 * Fast path: JSON is a subset of JavaScript with the same meaning, except that JSON.parse makes `"__proto__"` an
 * own key where a JS literal sets the prototype; such texts (and anything not JSON) go to the acorn path.
 */
function fromJsonText(text: string, maxDepth: number): CanonicalValue | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return fromJson(v, 0, maxDepth);
}

function fromJson(v: unknown, depth: number, maxDepth: number): CanonicalValue | undefined {
  switch (typeof v) {
    case 'string':
      return { t: 'string', v };
    case 'number':
      return { t: 'number', v };
    case 'boolean':
      return { t: 'boolean', v };
  }
  if (v === null) return { t: 'null' };
  if (depth >= maxDepth) return undefined;
  if (Array.isArray(v)) {
    const items: CanonicalValue[] = [];
    for (const x of v) {
      const c = fromJson(x, depth + 1, maxDepth);
      if (c === undefined) return undefined;
      items.push(c);
    }
    return { t: 'array', items };
  }
  const entries: Array<[string, CanonicalValue]> = [];
  for (const k of Object.keys(v as object)) {
    if (k === '__proto__') return undefined;
    const c = fromJson((v as Record<string, unknown>)[k], depth + 1, maxDepth);
    if (c === undefined) return undefined;
    entries.push([k, c]);
  }
  return { t: 'object', entries };
}

/**
 * Parses `text` as exactly one expression: `(text\n)` must be a single parenthesised expression spanning it all,
 * which is also how the executor embeds such a text (so the text cannot close the parenthesis early). Returns the
 * inner node, or why not.
 */
export function parseWholeExpression(text: string): Node | string {
  const wrapped = `(${text}\n)`;
  let node: AnyNode;
  try {
    node = parseExpressionAt(wrapped, 0, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      preserveParens: true,
    }) as AnyNode;
  } catch (e) {
    return `not an expression: ${e instanceof RangeError ? 'nested too deeply' : (e as Error).message}`;
  }
  if (node.type !== 'ParenthesizedExpression' || node.start !== 0 || node.end !== wrapped.length)
    return 'not exactly one expression';
  return node.expression as Node;
}

// The ESTree nodes we accept, typed loosely: acorn's Node carries the fields as `any`-like properties.
type AnyNode = Node & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function refuse(n: AnyNode, what = n.type): never {
  throw new NotALiteral(`not a value literal: ${what} at offset ${n.start}`);
}

function fromNode(n: AnyNode, depth: number, maxDepth: number): CanonicalValue {
  if (depth > maxDepth) throw new NotALiteral('value nested too deeply');
  switch (n.type) {
    case 'ParenthesizedExpression':
      return fromNode(n.expression, depth, maxDepth);
    case 'Literal': {
      if (n.regex) refuse(n, 'a regular expression');
      const v = n.value as unknown;
      if (n.bigint !== undefined) return { t: 'bigint', v: BigInt(n.bigint as string) };
      if (v === null) return { t: 'null' };
      if (typeof v === 'boolean') return { t: 'boolean', v };
      if (typeof v === 'number') return { t: 'number', v };
      if (typeof v === 'string') return { t: 'string', v };
      return refuse(n);
    }
    case 'TemplateLiteral': {
      if (n.expressions.length > 0) refuse(n, 'a template with substitutions');
      const cooked = n.quasis[0]?.value?.cooked as string | null | undefined;
      if (typeof cooked !== 'string') refuse(n, 'a template with an invalid escape');
      return { t: 'string', v: cooked };
    }
    case 'Identifier':
      if (n.name === 'undefined') return { t: 'undefined' };
      if (n.name === 'NaN') return { t: 'number', v: NaN };
      if (n.name === 'Infinity') return { t: 'number', v: Infinity };
      return refuse(n, `the variable ${n.name}`);
    case 'UnaryExpression': {
      if (n.operator === 'void') {
        const arg = fromNode(n.argument, depth + 1, maxDepth);
        if (arg.t === 'array' || arg.t === 'object' || arg.t === 'map' || arg.t === 'set') refuse(n);
        return { t: 'undefined' };
      }
      if (n.operator !== '-' && n.operator !== '+') refuse(n, `the operator ${n.operator}`);
      const arg = fromNode(n.argument, depth + 1, maxDepth);
      if (arg.t === 'number') return { t: 'number', v: n.operator === '-' ? -arg.v : arg.v };
      if (arg.t === 'bigint' && n.operator === '-') return { t: 'bigint', v: -arg.v };
      return refuse(n, `${n.operator} applied to a non-number`);
    }
    case 'ArrayExpression':
      return {
        t: 'array',
        items: (n.elements as Array<AnyNode | null>).map((el) => {
          if (el === null) return { t: 'hole' };
          if (el.type === 'SpreadElement') refuse(el, 'a spread');
          return fromNode(el, depth + 1, maxDepth);
        }),
      };
    case 'ObjectExpression': {
      const byKey = new Map<string, CanonicalValue>();
      for (const p of n.properties as AnyNode[]) {
        if (p.type !== 'Property' || p.kind !== 'init' || p.method || p.shorthand) refuse(p, 'a non-literal property');
        const k = p.key as AnyNode;
        let key: string;
        if (k.type === 'Identifier' && !p.computed) key = k.name as string;
        else if (
          k.type === 'Literal' &&
          (typeof k.value === 'string' || typeof k.value === 'number' || k.bigint !== undefined)
        )
          key = k.bigint !== undefined ? String(BigInt(k.bigint as string)) : String(k.value);
        else return refuse(k, 'a computed key');
        if (key === '__proto__' && !p.computed)
          refuse(k, '__proto__ (in a literal it sets the prototype; write ["__proto__"])');
        byKey.delete(key); // a repeated key keeps the last value (its position does not matter: keys are sorted)
        byKey.set(key, fromNode(p.value, depth + 1, maxDepth));
      }
      return { t: 'object', entries: [...byKey] };
    }
    case 'NewExpression': {
      const callee = n.callee as AnyNode;
      if (callee.type !== 'Identifier' || (callee.name !== 'Map' && callee.name !== 'Set'))
        refuse(n, 'a constructor call');
      const args = n.arguments as AnyNode[];
      if (args.length > 1) refuse(n, `${callee.name} with more than one argument`);
      const list = args[0];
      if (list !== undefined && list.type !== 'ArrayExpression') refuse(list, `${callee.name} of a non-array`);
      const elements = (list?.elements ?? []) as Array<AnyNode | null>;
      const seen = new Map<string, number>();
      if (callee.name === 'Set') {
        const items: CanonicalValue[] = [];
        for (const el of elements) {
          if (el === null || el.type === 'SpreadElement') refuse(list!, 'a hole or spread in a Set');
          const item = zeroKey(fromNode(el, depth + 1, maxDepth));
          const id = primitiveId(item);
          if (id !== undefined) {
            if (seen.has(id)) continue;
            seen.set(id, items.length);
          }
          items.push(item);
        }
        return { t: 'set', items };
      }
      const entries: Array<[CanonicalValue, CanonicalValue]> = [];
      for (const el of elements) {
        if (
          el === null ||
          el.type !== 'ArrayExpression' ||
          el.elements.length !== 2 ||
          el.elements.some((x: AnyNode | null) => x === null || x.type === 'SpreadElement')
        )
          refuse(el ?? list!, 'a Map entry that is not a [key, value] pair');
        const key = zeroKey(fromNode(el.elements[0], depth + 1, maxDepth));
        const value = fromNode(el.elements[1], depth + 1, maxDepth);
        const id = primitiveId(key);
        const at = id === undefined ? undefined : seen.get(id);
        if (at !== undefined) entries[at] = [key, value];
        else {
          if (id !== undefined) seen.set(id, entries.length);
          entries.push([key, value]);
        }
      }
      return { t: 'map', entries };
    }
    default:
      return refuse(n);
  }
}

/** Set elements and Map keys store -0 as +0. */
function zeroKey(v: CanonicalValue): CanonicalValue {
  return v.t === 'number' && v.v === 0 ? { t: 'number', v: 0 } : v;
}

/** Identity of a primitive under SameValueZero (Set/Map dedupe), undefined for objects (always distinct). */
function primitiveId(v: CanonicalValue): string | undefined {
  switch (v.t) {
    case 'array':
    case 'object':
    case 'map':
    case 'set':
    case 'hole':
      return undefined;
    default:
      return `${v.t}:${valueKey(v)}`;
  }
}

/**
 * Are two canonical texts (as produced by the executor or {@link toCanonicalText}) equal values?
 * Equal texts are equal values; different texts can only be equal through -0, so only then do we parse.
 */
export function equalCanonical(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.includes('-0') && !b.includes('-0')) return false;
  const pa = parseValue(a);
  const pb = parseValue(b);
  return pa.ok && pb.ok && valueKey(pa.value) === valueKey(pb.value);
}

/** Any value-literal text → its canonical text (or why it is not a value literal). */
export function toCanonicalText(text: string): { ok: true; text: string } | { ok: false; error: string } {
  const p = parseValue(text);
  return p.ok ? { ok: true, text: reprValue(p.value) } : p;
}

/**
 * A live JavaScript value from a trusted source (the host, or a `node:vm` context in tests) as a canonical value.
 * Throws on values the executor would call unserializable. Reads data properties only (never calls getters).
 */
export function canonicalFromJs(value: unknown, seen: Set<object> = new Set()): CanonicalValue {
  switch (typeof value) {
    case 'undefined':
      return { t: 'undefined' };
    case 'boolean':
      return { t: 'boolean', v: value };
    case 'number':
      return { t: 'number', v: value };
    case 'bigint':
      return { t: 'bigint', v: value };
    case 'string':
      return { t: 'string', v: value };
    case 'symbol':
    case 'function':
      throw new TypeError(`unserializable: a ${typeof value}`);
  }
  if (value === null) return { t: 'null' };
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('unserializable: a cycle');
  seen.add(obj);
  try {
    const tag = Object.prototype.toString.call(obj);
    if (Array.isArray(obj)) {
      const items: CanonicalValue[] = [];
      for (let i = 0; i < obj.length; i++) {
        const d = Object.getOwnPropertyDescriptor(obj, i);
        if (d === undefined) items.push({ t: 'hole' });
        else if (!('value' in d)) throw new TypeError('unserializable: an accessor');
        else items.push(canonicalFromJs(d.value, seen));
      }
      return { t: 'array', items };
    }
    if (tag === '[object Map]') {
      const entries: Array<[CanonicalValue, CanonicalValue]> = [];
      for (const [k, v] of Map.prototype.entries.call(obj) as IterableIterator<[unknown, unknown]>)
        entries.push([canonicalFromJs(k, seen), canonicalFromJs(v, seen)]);
      return { t: 'map', entries };
    }
    if (tag === '[object Set]') {
      const items: CanonicalValue[] = [];
      for (const v of Set.prototype.values.call(obj) as IterableIterator<unknown>) items.push(canonicalFromJs(v, seen));
      return { t: 'set', items };
    }
    const proto = Object.getPrototypeOf(obj) as object | null;
    if (proto !== null && Object.getPrototypeOf(proto) !== null) throw new TypeError(`unserializable: ${tag}`);
    if (proto !== null && tag !== '[object Object]') throw new TypeError(`unserializable: ${tag}`);
    const entries: Array<[string, CanonicalValue]> = [];
    for (const key of Reflect.ownKeys(obj)) {
      const d = Object.getOwnPropertyDescriptor(obj, key)!;
      if (!d.enumerable) continue;
      if (typeof key === 'symbol') throw new TypeError('unserializable: a symbol key');
      if (!('value' in d)) throw new TypeError('unserializable: an accessor');
      entries.push([key, canonicalFromJs(d.value, seen)]);
    }
    return { t: 'object', entries };
  } finally {
    seen.delete(obj);
  }
}
