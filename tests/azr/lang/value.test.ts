import fc from 'fast-check';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { accepts } from '../../../src/azr/lang/automaton.js';
import { lex } from '../../../src/azr/lang/lex.js';
import { ALPHABET, INT_MAX, INT_MIN, MAX_ARR_LEN, MAX_STR_LEN } from '../../../src/azr/lang/lexemes.js';
import {
  canonicalValue,
  isExpressible,
  valueEquals,
  valueFromLexemes,
  valueLexemes,
  valueSource,
  valuesFromLexemes,
  type Value,
} from '../../../src/azr/lang/value.js';

const smallInt = fc.integer({ min: INT_MIN, max: INT_MAX });
const value: fc.Arbitrary<Value> = fc.oneof(
  smallInt,
  fc.boolean(),
  fc.array(fc.constantFrom(...ALPHABET), { maxLength: MAX_STR_LEN }).map((cs) => cs.join('')),
  fc.array(smallInt, { maxLength: MAX_ARR_LEN }),
);

describe('the expressibility rule', () => {
  it('accepts exactly the values the value grammar writes', () => {
    for (const v of [
      INT_MIN,
      INT_MAX,
      0,
      -0,
      true,
      false,
      '',
      'aB',
      'abcdeABC',
      [],
      [INT_MIN, INT_MAX],
      [1, 2, 3, 4, 5, 6],
    ])
      expect(isExpressible(v), String(v)).toBe(true);
    for (const v of [
      INT_MIN - 1,
      INT_MAX + 1,
      1.5,
      NaN,
      Infinity,
      undefined,
      null,
      'abcdeABCD',
      'xyz',
      'a b',
      [1, 2, 3, 4, 5, 6, 7],
      [1.5],
      [[1]],
      ['a'],
      [undefined],
      {},
      () => 1,
      10n,
    ])
      expect(isExpressible(v), String(v)).toBe(false);
    // eslint-disable-next-line no-sparse-arrays
    expect(isExpressible([1, , 3])).toBe(false);
  });

  it('writes −0 as 0 and copies arrays from another realm', () => {
    expect(Object.is(canonicalValue(-0), 0)).toBe(true);
    const foreign: unknown = vm.runInNewContext('[1, 2]');
    expect(foreign instanceof Array).toBe(false);
    const v = canonicalValue(foreign);
    expect(v instanceof Array && valueEquals(v, [1, 2])).toBe(true);
  });

  it('round-trips every expressible value through lexemes, source and JavaScript', () => {
    fc.assert(
      fc.property(value, (v) => {
        const lexemes = valueLexemes(v);
        expect(accepts('value', lexemes)).toBe(true);
        expect(valueEquals(valueFromLexemes(lexemes), v)).toBe(true);
        const l = lex(valueSource(v), 'value');
        expect(l.ok && l.lexemes).toEqual(lexemes);
        expect(valueEquals(canonicalValue(vm.runInNewContext(`(${valueSource(v)})`))!, v)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('compares values by type and content', () => {
    expect(valueEquals([1, 2], [1, 2])).toBe(true);
    expect(valueEquals([1, 2], [2, 1])).toBe(false);
    expect(valueEquals(1, true)).toBe(false);
    expect(valueEquals('1', 1)).toBe(false);
    expect(valueEquals([], '')).toBe(false);
    expect(valuesFromLexemes(['"', 'a', '"', ',', '[', '1', ',', '-2', ']'])).toEqual(['a', [1, -2]]);
    expect(() => valuesFromLexemes(['"', 'a'])).toThrow(RangeError);
  });
});
