import { describe, expect, it } from 'vitest';
import {
  accepts,
  advance,
  advanceAll,
  allowedMask,
  allowedNext,
  isComplete,
  minToFinish,
  nextOptions,
  start,
  step,
  TaskLanguageError,
  type AutomatonState,
  type SegmentContext,
  type SegmentKind,
} from '../../../src/azr/lang/automaton.js';
import { ll1Conflicts } from '../../../src/azr/lang/compileGrammar.js';
import { SIGNATURES } from '../../../src/azr/lang/grammar.js';
import { END, LEXEMES, lexemeId } from '../../../src/azr/lang/lexemes.js';
import { Rng } from '../../../src/azr/rng.js';

const CONTEXTS: Array<[SegmentKind, SegmentContext | undefined]> = [
  ['program', undefined],
  ['program', { params: ['xs', 'n'] }],
  ['value', undefined],
  ...SIGNATURES.map((s): [SegmentKind, SegmentContext] => ['args', { params: s.params }]),
  ['inputs+message', { params: ['s', 'n'], inputs: 10 }],
  ['inputs+message', { params: ['a'], inputs: 3 }],
];

/** A random walk that picks uniformly among the lexemes allowed within the remaining budget (`slack` more than needed). */
function walk(rng: Rng, kind: SegmentKind, context: SegmentContext | undefined, slack: number) {
  let s = start(kind, context);
  const budget = minToFinish(s) + slack;
  const states: AutomatonState[] = [s];
  const out: string[] = [];
  for (;;) {
    const allowed = allowedNext(s, budget - out.length);
    expect(allowed.length).toBeGreaterThan(0);
    const l = rng.pick(allowed);
    if (l === END) break;
    s = advance(s, l);
    out.push(l);
    states.push(s);
  }
  return { lexemes: out, states, final: s, budget };
}

describe('the compiled grammar', () => {
  it('is LL(1): no terminal both starts and follows a nullable nonterminal', () => {
    expect(ll1Conflicts()).toEqual([]);
  });

  it('has distinct lexemes with the end marker first', () => {
    expect(new Set(LEXEMES).size).toBe(LEXEMES.length);
    expect(LEXEMES[0]).toBe(END);
    expect(lexemeId('.slice(')).toBeGreaterThan(0);
    expect(lexemeId('nope')).toBe(-1);
  });
});

describe('the automaton', () => {
  it('offers nothing a program cannot finish: the shortest program is 5 lexemes', () => {
    const s = start('program');
    expect(minToFinish(s)).toBe(5);
    expect(allowedNext(s, 4)).toEqual([]);
    expect(allowedNext(s, 5)).toEqual(SIGNATURES.map((x) => x.header));
  });

  it('allows the end marker exactly when the segment is complete, and not after it', () => {
    let s = start('value');
    expect(allowedNext(s)).not.toContain(END);
    s = advance(s, '3');
    expect(isComplete(s)).toBe(true);
    expect(allowedNext(s)).toEqual([END]);
    s = advance(s, END);
    expect(allowedNext(s)).toEqual([]);
    expect(() => advance(s, '3')).toThrow(TaskLanguageError);
  });

  it('fixes the header when the parameters are given', () => {
    const s = start('program', { params: ['s', 'n'] });
    expect(allowedNext(s)).toEqual(['function f(s, n) {']);
    expect(() => start('program', { params: ['q'] })).toThrow(TaskLanguageError);
    expect(() => start('args')).toThrow(TaskLanguageError);
  });

  it('puts only the declared parameters and enclosing lambda variables in scope', () => {
    let s = advanceAll(start('program'), ['function f(xs, n) {', 'return']);
    let allowed = allowedNext(s);
    expect(allowed).toEqual(expect.arrayContaining(['xs', 'n']));
    for (const v of ['a', 's', 't', 'm', 'ys', 'x', 'p']) expect(allowed).not.toContain(v);
    s = advanceAll(s, ['xs', '.map(x =>']);
    expect(allowedNext(s)).toContain('x');
    expect(allowedNext(s)).not.toContain('p');
    s = advanceAll(s, ['x', ')']);
    expect(allowedNext(s)).not.toContain('x');
    const r = advanceAll(start('program', { params: ['xs'] }), [
      'function f(xs) {',
      'return',
      'xs',
      '.reduce((p, x) =>',
    ]);
    expect(allowedNext(r)).toEqual(expect.arrayContaining(['p', 'x']));
    const init = advanceAll(r, ['p', ',']);
    expect(allowedNext(init)).not.toContain('p');
    expect(allowedNext(init)).not.toContain('x');
  });

  it('tells the character a from the parameter a by position', () => {
    const s = advanceAll(start('program'), ['function f(n) {', 'return', '"']);
    expect(allowedNext(s)).toContain('a');
    expect(accepts('program', ['function f(n) {', 'return', '"', 'a', '"', ';', '}'])).toBe(true);
    expect(accepts('program', ['function f(n) {', 'return', 'a', ';', '}'])).toBe(false);
    expect(accepts('program', ['function f(a) {', 'return', 'a', ';', '}'])).toBe(true);
  });

  it('follows JavaScript precedence: an operand of * is not a sum, a comparison result is not added to', () => {
    const prefix = ['function f(n) {', 'return', 'n', '<', 'n'];
    expect(allowedNext(advanceAll(start('program'), prefix))).toEqual(
      expect.arrayContaining(['+', '*', ';', '===', '&&']),
    );
    expect(allowedNext(advanceAll(start('program'), prefix))).not.toContain('<');
    expect(accepts('program', ['function f(s) {', 'return', 's', '+', 's', '.length', ';', '}'])).toBe(false);
  });

  it('satisfies the Bellman equation of "least lexemes to finish" at every state of random walks', () => {
    const rng = new Rng('bellman');
    for (const [kind, context] of CONTEXTS)
      for (let w = 0; w < 6; w++) {
        const { states } = walk(rng, kind, context, 20);
        for (const s of states) {
          const opts = nextOptions(s);
          let best = isComplete(s) ? 0 : Infinity;
          for (const o of opts) {
            if (o.lexeme === END) continue;
            const after = advance(s, o.lexeme);
            expect(o.cost).toBe(1 + minToFinish(after));
            best = Math.min(best, o.cost);
          }
          expect(minToFinish(s)).toBe(best);
        }
      }
  });

  it('always completes random walks within their budget', () => {
    const rng = new Rng('walks');
    for (const [kind, context] of CONTEXTS)
      for (let w = 0; w < 40; w++) {
        const { lexemes, final, budget } = walk(rng, kind, context, rng.int(30));
        expect(lexemes.length).toBeLessThanOrEqual(budget);
        expect(isComplete(final)).toBe(true);
        expect(accepts(kind, lexemes, context)).toBe(true);
      }
  });

  it('gives the same answer as a mask and as lexemes, and states are immutable', () => {
    const s0 = advanceAll(start('program'), ['function f(s) {', 'return', 's']);
    const mask = new Uint8Array(LEXEMES.length);
    const count = allowedMask(s0, 6, mask);
    const fromMask = LEXEMES.filter((_, i) => mask[i] === 1);
    expect(fromMask.sort()).toEqual([...allowedNext(s0, 6)].sort());
    expect(count).toBe(fromMask.length);
    const before = allowedNext(s0);
    advance(s0, '.length');
    expect(allowedNext(s0)).toEqual(before);
    expect(step(s0, '}')).toBeUndefined();
  });
});
