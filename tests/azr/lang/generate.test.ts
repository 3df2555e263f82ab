import vm from 'node:vm';
import { parse } from 'acorn';
import { getQuickJS } from 'quickjs-emscripten';
import { describe, expect, it } from 'vitest';
import { accepts } from '../../../src/azr/lang/automaton.js';
import { generateArgs, generateProgram, generateValue, type GeneratedProgram } from '../../../src/azr/lang/generate.js';
import { SIGNATURES, VALUE_TYPES } from '../../../src/azr/lang/grammar.js';
import { lex } from '../../../src/azr/lang/lex.js';
import { render } from '../../../src/azr/lang/render.js';
import { Rng } from '../../../src/azr/rng.js';
import {
  argsLexemes,
  argsSource,
  canonicalValue,
  isExpressible,
  valueEquals,
  valueType,
} from '../../../src/azr/lang/value.js';

// 12,800 programs from 80 seeds, sizes 6..26 lexemes, shared by the tests below
const PROGRAMS: GeneratedProgram[] = [];
for (let seed = 0; seed < 80; seed++) {
  const rng = new Rng(seed);
  for (let i = 0; i < 160; i++) PROGRAMS.push(generateProgram(rng, { targetLength: 6 + (i % 21), maxLength: 40 }));
}
const SAMPLE = PROGRAMS.filter((_, i) => i % 10 === 0).slice(0, 1000);

function runInNode(
  context: vm.Context,
  program: string,
  args: string,
): { ok: true; value: unknown } | { ok: false; error: Error } {
  try {
    return {
      ok: true,
      value: vm.runInContext(`(function () {\n${program}\nreturn f(${args});\n})()`, context, { timeout: 200 }),
    };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

describe('the program generator', () => {
  it('produces at least 10,000 distinct programs across seeds', () => {
    expect(new Set(PROGRAMS.map((p) => p.source)).size).toBeGreaterThanOrEqual(10_000);
  });

  it('is deterministic in its seed', () => {
    const a = new Rng('same'),
      b = new Rng('same');
    const xs = Array.from({ length: 20 }, () => generateProgram(a).source);
    expect(Array.from({ length: 20 }, () => generateProgram(b).source)).toEqual(xs);
  });

  it('writes JavaScript: 100% of a 1,000-program sample parses with acorn', () => {
    expect(SAMPLE.length).toBe(1000);
    let parsed = 0;
    for (const p of SAMPLE) {
      parse(p.source, { ecmaVersion: 2022, sourceType: 'script' });
      parsed++;
    }
    expect(parsed).toBe(1000);
  });

  it('keeps every program complete, within its cap and reading a parameter, never a bare identity', () => {
    for (const p of PROGRAMS) {
      expect(p.lexemes.length).toBeLessThanOrEqual(40);
      expect(accepts('program', p.lexemes)).toBe(true);
      expect(p.params).toEqual(SIGNATURES.find((s) => s.header === p.lexemes[0])!.params);
      expect(p.source).not.toMatch(/^function f\([^)]*\) \{ return (a|n|m|s|t|xs|ys); \}$/);
    }
    const rng = new Rng(5);
    for (let i = 0; i < 50; i++) expect(generateProgram(rng, { maxLength: 12 }).lexemes.length).toBeLessThanOrEqual(12);
    expect(generateProgram(rng, { maxLength: 5, params: ['n'] }).lexemes).toHaveLength(5);
    expect(() => generateProgram(rng, { maxLength: 4 })).toThrow(RangeError);
  });

  it('makes programs that all run in Node with generated arguments without a syntax error', () => {
    const rng = new Rng('node');
    const context = vm.createContext(Object.create(null));
    let expressible = 0;
    for (const p of PROGRAMS) {
      const r = runInNode(context, p.source, argsSource(generateArgs(rng, p.params)));
      if (!r.ok) expect(r.error.name, p.source).not.toBe('SyntaxError');
      else if (isExpressible(r.value)) expressible++;
    }
    // most random programs give an answerable output (the rest are invalid proposals, not broken syntax)
    expect(expressible / PROGRAMS.length).toBeGreaterThan(0.7);
  });

  it('agrees with QuickJS (the sandbox engine) on a sample', async () => {
    const QuickJS = await getQuickJS();
    const rng = new Rng('quickjs');
    const context = vm.createContext(Object.create(null));
    const qjs = QuickJS.newContext();
    try {
      let compared = 0;
      for (const p of SAMPLE.slice(0, 300)) {
        const args = argsSource(generateArgs(rng, p.params));
        const node = runInNode(context, p.source, args);
        const r = qjs.evalCode(`(function () {\n${p.source}\nreturn JSON.stringify([f(${args})]);\n})()`);
        if (r.error) {
          r.error.dispose();
          expect(node.ok && isExpressible(node.value)).toBe(false);
          continue;
        }
        const text = qjs.getString(r.value);
        r.value.dispose();
        expect(node.ok).toBe(true);
        if (!node.ok) continue;
        const fromNode = canonicalValue(node.value);
        if (fromNode === undefined) continue;
        const [fromQjs] = JSON.parse(text) as [unknown];
        expect(valueEquals(canonicalValue(fromQjs)!, fromNode)).toBe(true);
        compared++;
      }
      expect(compared).toBeGreaterThan(200);
    } finally {
      qjs.dispose();
    }
  });
});

describe('lex and render', () => {
  it('round-trip every generated program: lex(render(L)) = L and render(lex(S)) = S', () => {
    for (const p of PROGRAMS) {
      expect(render(p.lexemes, 'program')).toBe(p.source);
      const l = lex(p.source, 'program');
      expect(l.ok && l.lexemes).toEqual(p.lexemes);
    }
  });

  it('read sources written in other styles into the same lexemes', () => {
    const l = lex("function f(s,n){if(n<0)return s.split('').reverse().join('');return xs}", 'program');
    expect(l.ok).toBe(false); // xs is not a parameter
    const ok = lex("function f(s,n){if(n<0)return s.split('').reverse().join('');return s[n-1];}", 'program');
    expect(ok.ok && render(ok.lexemes, 'program')).toBe(
      'function f(s, n) { if (n < 0) return s.split("").reverse().join(""); return s[n - 1]; }',
    );
    expect(lex('n - -3 * 2', 'value').ok).toBe(false);
    const neg = lex('function f(n) { return n - -3; }', 'program');
    expect(neg.ok && neg.lexemes).toEqual(['function f(n) {', 'return', 'n', '-', '-3', ';', '}']);
  });

  it('reject what is not in the language, with an offset', () => {
    const cases = [
      'function f(s) { return s.length }',
      'function g(s) { return s; }',
      'function f(s) { return s / 2; }',
      '"abcdefghi"',
      '"xyz"',
      '30',
      '[1, 2, 3, 4, 5, 6, 7]',
    ];
    for (const c of cases) {
      const r = lex(c, c.startsWith('function') ? 'program' : 'value');
      expect(r.ok, c).toBe(false);
      if (!r.ok) expect(r.at).toBeGreaterThanOrEqual(0);
    }
    expect(() => render(['function f(s) {', 'return'], 'program')).toThrow();
  });

  it('round-trip generated values and argument lists, which the automaton accepts', () => {
    const rng = new Rng('values');
    for (let i = 0; i < 2000; i++) {
      const sig = rng.pick(SIGNATURES);
      const args = generateArgs(rng, sig.params);
      const lexemes = argsLexemes(args);
      expect(accepts('args', lexemes, { params: sig.params })).toBe(true);
      expect(render(lexemes, 'args', { params: sig.params })).toBe(argsSource(args));
      const back = lex(argsSource(args), 'args', { params: sig.params });
      expect(back.ok && back.lexemes).toEqual(lexemes);
      const v = generateValue(rng, rng.pick(VALUE_TYPES));
      expect(isExpressible(v)).toBe(true);
      expect(valueType(v)).toBeDefined();
    }
  });
});
