// Canonical values and equality: unit cases, fast-check properties on the host, and the guest serializer checked
// against the host's repr for random values (the two implementations must write the same canonical text).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalFromJs,
  equalCanonical,
  parseValue,
  reprValue,
  toCanonicalText,
  valueKey,
  type CanonicalValue,
} from '../../src/sandbox/canonical.js';
import type { SandboxPool } from '../../src/sandbox/pool.js';
import { testPool } from './helpers.js';

/** Strings from any UTF-16 code units: control characters, lone surrogates, U+2028, quotes, backslashes. */
const anyString = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x22, 0x5c, 0x2028, 0xd800, 0xdfff, 0x0a)), {
    maxLength: 8,
  })
  .map((cs) => String.fromCharCode(...cs));
const keyString = fc.oneof(
  fc.constantFrom('__proto__', 'a', 'b', '0', '1', '10', 'x y', '$', '_a1', 'constructor', ''),
  anyString,
);

/** Set elements and Map keys: -0 is stored as 0, and equal primitives collapse into one (SameValueZero). */
function primitiveId(v: CanonicalValue): string | undefined {
  return v.t === 'array' || v.t === 'object' || v.t === 'map' || v.t === 'set' || v.t === 'hole'
    ? undefined
    : `${v.t}:${valueKey(v)}`;
}
function zero(v: CanonicalValue): CanonicalValue {
  return v.t === 'number' && v.v === 0 ? { t: 'number', v: 0 } : v;
}
function uniqueBy<T>(xs: T[], id: (x: T) => string | undefined): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = id(x);
    if (k === undefined) return true;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const { value: anyValue } = fc.letrec<{ value: CanonicalValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<CanonicalValue>({ t: 'undefined' }),
    fc.constant<CanonicalValue>({ t: 'null' }),
    fc.boolean().map((v): CanonicalValue => ({ t: 'boolean', v })),
    fc.double().map((v): CanonicalValue => ({ t: 'number', v })),
    fc
      .constantFrom(0, -0, NaN, Infinity, -Infinity, 1e21, 5e-324, 0.1)
      .map((v): CanonicalValue => ({ t: 'number', v })),
    fc.bigInt().map((v): CanonicalValue => ({ t: 'bigint', v })),
    anyString.map((v): CanonicalValue => ({ t: 'string', v })),
    fc
      .array(fc.oneof(tie('value'), fc.constant<CanonicalValue>({ t: 'hole' })), { maxLength: 4 })
      .map((items): CanonicalValue => ({ t: 'array', items })),
    fc
      .uniqueArray(fc.tuple(keyString, tie('value')), { maxLength: 4, selector: ([k]) => k })
      .map((entries): CanonicalValue => ({ t: 'object', entries })),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((es): CanonicalValue => ({
      t: 'map',
      entries: uniqueBy(
        es.map(([k, v]): [CanonicalValue, CanonicalValue] => [zero(k), v]),
        ([k]) => primitiveId(k),
      ),
    })),
    fc
      .array(tie('value'), { maxLength: 3 })
      .map((xs): CanonicalValue => ({ t: 'set', items: uniqueBy(xs.map(zero), primitiveId) })),
  ),
}));

/** Values with many equal pairs: a small alphabet including 0 and -0. */
const { value: smallValue } = fc.letrec<{ value: CanonicalValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(0, -0, 1, NaN).map((v): CanonicalValue => ({ t: 'number', v })),
    fc.constantFrom('a', 'b').map((v): CanonicalValue => ({ t: 'string', v })),
    fc.array(tie('value'), { maxLength: 2 }).map((items): CanonicalValue => ({ t: 'array', items })),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom('a', 'b'), tie('value')), { maxLength: 2, selector: ([k]) => k })
      .map((entries): CanonicalValue => ({ t: 'object', entries })),
    fc
      .array(tie('value'), { maxLength: 2 })
      .map((xs): CanonicalValue => ({ t: 'set', items: uniqueBy(xs.map(zero), primitiveId) })),
  ),
}));

function shuffleKeys(v: CanonicalValue, rand: () => number): CanonicalValue {
  switch (v.t) {
    case 'array':
      return { t: 'array', items: v.items.map((x) => shuffleKeys(x, rand)) };
    case 'object': {
      const entries = v.entries.map(([k, x]): [string, CanonicalValue] => [k, shuffleKeys(x, rand)]);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      return { t: 'object', entries };
    }
    case 'map':
      return {
        t: 'map',
        entries: [...v.entries].reverse().map(([k, x]) => [shuffleKeys(k, rand), shuffleKeys(x, rand)]),
      };
    case 'set':
      return { t: 'set', items: [...v.items].reverse().map((x) => shuffleKeys(x, rand)) };
    default:
      return v;
  }
}

describe('canonical text', () => {
  it.each([
    ['undefined', { t: 'undefined' }],
    ['-0', { t: 'number', v: -0 }],
    ['NaN', { t: 'number', v: NaN }],
    ['-Infinity', { t: 'number', v: -Infinity }],
    ['1e+21', { t: 'number', v: 1e21 }],
    ['-12n', { t: 'bigint', v: -12n }],
    ['"a\\"b\\n\\ud800"', { t: 'string', v: 'a"b\n\ud800' }],
    ['[1, , 3]', { t: 'array', items: [{ t: 'number', v: 1 }, { t: 'hole' }, { t: 'number', v: 3 }] }],
    ['[1, ,]', { t: 'array', items: [{ t: 'number', v: 1 }, { t: 'hole' }] }],
    [
      '{"1": true, ["__proto__"]: null, a: undefined, "x y": 2}',
      {
        t: 'object',
        entries: [
          ['x y', { t: 'number', v: 2 }],
          ['a', { t: 'undefined' }],
          ['__proto__', { t: 'null' }],
          ['1', { t: 'boolean', v: true }],
        ],
      },
    ],
    [
      'new Map([["a", new Set()], [1, "x"]])',
      {
        t: 'map',
        entries: [
          [
            { t: 'string', v: 'a' },
            { t: 'set', items: [] },
          ],
          [
            { t: 'number', v: 1 },
            { t: 'string', v: 'x' },
          ],
        ],
      },
    ],
    [
      'new Set([1, 2])',
      {
        t: 'set',
        items: [
          { t: 'number', v: 2 },
          { t: 'number', v: 1 },
        ],
      },
    ],
  ] as Array<[string, CanonicalValue]>)('writes %s', (text, value) => {
    expect(reprValue(value)).toBe(text);
    expect(toCanonicalText(text)).toEqual({ ok: true, text });
  });

  it('parses any literal spelling to the canonical text', () => {
    expect(toCanonicalText("{ b: 'x', a: [ +1.50, -0x10, `t`, void 0 ], }")).toEqual({
      ok: true,
      text: '{a: [1.5, -16, "t", undefined], b: "x"}',
    });
    expect(toCanonicalText('new Set([3, 1, 1, -0, 0, NaN, NaN])')).toEqual({
      ok: true,
      text: 'new Set([0, 1, 3, NaN])',
    });
    expect(toCanonicalText("new Map([[1, 'a'], [1, 'b']])")).toEqual({ ok: true, text: 'new Map([[1, "b"]])' });
  });

  it.each(['f(1)', 'x', '[...a]', '{a}', '{__proto__: 1}', '/re/', '`${x}`', '1, 2', '[1] // ok', '1 +'])(
    'refuses %s as a value literal',
    (text) => {
      expect(parseValue(text).ok).toBe(text === '[1] // ok');
    },
  );

  it('round-trips random values through text (host)', () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        const text = reprValue(v);
        const back = parseValue(text);
        expect(back.ok, text).toBe(true);
        if (back.ok) expect(reprValue(back.value)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the same text as canonicalFromJs on the live value', () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        // eslint-disable-next-line no-new-func
        const live = new Function(`return (${reprValue(v)}\n);`)() as unknown;
        expect(reprValue(canonicalFromJs(live))).toBe(reprValue(v));
      }),
      { numRuns: 300 },
    );
  });
});

describe('equality', () => {
  it.each([
    ['-0', '0', true],
    ['NaN', 'NaN', true],
    ['[1, 2]', '[2, 1]', false],
    ['{a: 1, b: 2}', '{b: 2, a: 1}', true],
    ['new Set([1, 2])', 'new Set([2, 1])', true],
    ['new Map([[1, 2], [3, 4]])', 'new Map([[3, 4], [1, 2]])', true],
    ['[,]', '[undefined]', false],
    ['{a: undefined}', '{}', false],
    ['1', '1n', false],
    ['"1"', '1', false],
    ['new Set([[-0]])', 'new Set([[0]])', true],
    ['[-0, {a: new Set([[-0], [0, 1]])}]', '[0, {a: new Set([[0], [0, 1]])}]', true],
  ])('%s equals %s: %s', (a, b, equal) => {
    const ca = toCanonicalText(a);
    const cb = toCanonicalText(b);
    expect(ca.ok && cb.ok).toBe(true);
    if (ca.ok && cb.ok) expect(equalCanonical(ca.text, cb.text)).toBe(equal);
  });

  it('is an equivalence relation', () => {
    fc.assert(
      fc.property(smallValue, smallValue, smallValue, (a, b, c) => {
        const [ta, tb, tc] = [a, b, c].map(reprValue) as [string, string, string];
        expect(equalCanonical(ta, ta)).toBe(true);
        expect(equalCanonical(ta, tb)).toBe(equalCanonical(tb, ta));
        if (equalCanonical(ta, tb) && equalCanonical(tb, tc)) expect(equalCanonical(ta, tc)).toBe(true);
        expect(equalCanonical(ta, tb)).toBe(valueKey(a) === valueKey(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('ignores key order and Map/Set insertion order', () => {
    fc.assert(
      fc.property(anyValue, fc.integer(), (v, seed) => {
        let s = seed >>> 0;
        const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
        const w = shuffleKeys(v, rand);
        expect(reprValue(w)).toBe(reprValue(v));
        expect(equalCanonical(reprValue(w), reprValue(v))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the guest serializer agrees with the host repr', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = testPool();
    await pool.ready();
  });
  afterAll(() => pool.close());

  it('evaluating the canonical text in the sandbox gives back the same text, for random values', async () => {
    const values = fc.sample(anyValue, { numRuns: 300, seed: 42 });
    // `(0, text)` is not a literal, so it is really evaluated and serialised inside QuickJS.
    const results = await pool.runBatch(
      values.map((v) => ({ type: 'evaluate' as const, expression: `(0, ${reprValue(v)})`, staticCheck: true })),
    );
    results.forEach((r, i) => expect(r, reprValue(values[i]!)).toEqual({ ok: true, output: reprValue(values[i]!) }));
  });

  it('writes shuffled-key objects in canonical order inside QuickJS too', async () => {
    const r = await pool.run({
      type: 'validate',
      program:
        'function f() { return { z: 1, a: { d: [2, 1], c: new Map([["y", 1], ["x", 2]]) }, m: new Set(["b", "a"]) }; }',
      input: '',
      staticCheck: true,
      determinism: true,
    });
    expect(r).toEqual({
      ok: true,
      output: '{a: {c: new Map([["x", 2], ["y", 1]]), d: [2, 1]}, m: new Set(["a", "b"]), z: 1}',
    });
  });
});
