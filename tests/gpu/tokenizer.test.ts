import { parse } from 'acorn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts } from '../../src/azr/lang/automaton.js';
import { generateArgs, generateProgram } from '../../src/azr/lang/generate.js';
import { END, LEXEMES } from '../../src/azr/lang/lexemes.js';
import { render } from '../../src/azr/lang/render.js';
import { Rng } from '../../src/azr/rng.js';
import { programParams, type Triplet } from '../../src/azr/tasks.js';
import { argsSource } from '../../src/azr/lang/value.js';
import { acceptsTrace, traceSteps } from '../../src/azr/lang/traceAutomaton.js';
import { initBackend } from '../../src/gpu/backend.js';
import { Gpt, type GptConfig } from '../../src/gpu/model.js';
import { sample } from '../../src/gpu/sampler.js';
import {
  answerConstraint,
  GrammarConstraint,
  proposerPrompt,
  solverPrompt,
  supervisedExample,
  TAGS,
  tokenizer,
} from '../../src/gpu/tokenizer.js';

const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 160, layers: 1, width: 32, heads: 2 };
let model: Gpt;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  model = Gpt.init(config, new Rng(31));
});
afterAll(() => model.dispose());

function triplet(rng: Rng): Triplet {
  const p = generateProgram(rng, { targetLength: 10, maxLength: 20 });
  return { program: p.source, input: argsSource(generateArgs(rng, p.params)), output: rng.int(10) };
}

describe('vocabulary', () => {
  it('is <pad>, the tags, then every lexeme in order, each once', () => {
    expect(tokenizer.vocab[0]).toBe('<pad>');
    expect(tokenizer.padId).toBe(0);
    expect(tokenizer.vocab.slice(tokenizer.lexemeOffset)).toEqual(LEXEMES);
    expect(new Set(tokenizer.vocab).size).toBe(tokenizer.vocabSize);
    expect(tokenizer.decode([tokenizer.endId])).toEqual([END]);
    expect(tokenizer.vocab).toContain(TAGS.segment.answer);
    expect(() => tokenizer.id('while')).toThrow(/not in the vocabulary/);
  });
});

describe('grammar-constrained decoding from a fresh model', () => {
  it('yields 100% parseable programs', async () => {
    const rng = new Rng(1);
    const prompts = Array.from({ length: 32 }, () =>
      solverPrompt({ type: 'induction', params: ['s'], shown: [], message: '' }),
    );
    const out = await sample(
      model,
      prompts.map((p) => ({ prompt: p.tokens, constraint: answerConstraint(p, [0, 30]) })),
      { rng, maxNewTokens: 32 },
    );
    for (const c of out) {
      expect(c.stop).toBe('constraint');
      const [trace, lexemes] = tokenizer.segments(c.tokens);
      expect(trace).toEqual([]); // a trace budget of 0: the solver answers directly
      const source = render(lexemes!, 'program', { params: ['s'] });
      expect(source.startsWith('function f(s) {')).toBe(true);
      expect(() => parse(source, { ecmaVersion: 2022 })).not.toThrow();
    }
  });

  it('yields well-formed values, argument lists and two-segment proposals', async () => {
    const rng = new Rng(2);
    const refs = Array.from({ length: 2 }, () => triplet(rng));
    const propose = proposerPrompt({ type: 'deduction', references: refs });
    const solve = solverPrompt({ type: 'deduction', program: refs[0]!.program, input: refs[0]!.input });
    const abduce = solverPrompt({ type: 'abduction', program: refs[1]!.program, output: refs[1]!.output });
    const requests = [
      ...Array.from({ length: 8 }, () => ({ prompt: propose.tokens, constraint: answerConstraint(propose, [24, 12]) })),
      ...Array.from({ length: 8 }, () => ({ prompt: solve.tokens, constraint: answerConstraint(solve, [24, 12]) })),
      ...Array.from({ length: 8 }, () => ({ prompt: abduce.tokens, constraint: answerConstraint(abduce, [24, 12]) })),
    ];
    const out = await sample(model, requests, { rng, maxNewTokens: 40 });
    let steps = 0;
    out.forEach((c, i) => {
      expect(c.stop).toBe('constraint');
      const segs = tokenizer.segments(c.tokens);
      if (i < 8) {
        expect(segs).toHaveLength(2);
        const program = render(segs[0]!, 'program');
        expect(() => parse(program, { ecmaVersion: 2022 })).not.toThrow();
        const params = program.slice(program.indexOf('(') + 1, program.indexOf(')')).split(', ');
        expect(accepts('args', segs[1]!, { params })).toBe(true);
      } else {
        // a solver: a well-formed reasoning trace within its budget (a fresh model writes some), then the answer
        expect(segs).toHaveLength(2);
        expect(acceptsTrace(segs[0]!, programParams(refs[i < 16 ? 0 : 1]!.program)!)).toBe(true);
        expect(segs[0]!.length).toBeLessThanOrEqual(24);
        steps += traceSteps(segs[0]!);
        if (i < 16) expect(accepts('value', segs[1]!)).toBe(true);
        else expect(accepts('args', segs[1]!, abduce.answer[1]!.context as { params: string[] })).toBe(true);
      }
    });
    expect(steps).toBeGreaterThan(0);
  });

  it('respects the lexeme budget: at budget 0 only <end> is allowed', () => {
    const c = new GrammarConstraint([{ kind: 'value', budget: 1 }]);
    const first = c.allowed();
    expect(first).not.toContain(tokenizer.endId);
    c.advance(tokenizer.id('7'));
    expect(c.allowed()).toEqual([tokenizer.endId]);
    c.advance(tokenizer.endId);
    expect(c.done()).toBe(true);
    expect(() => new GrammarConstraint([{ kind: 'program', budget: 2 }])).toThrow(/at least/);
  });
});

describe('prompts', () => {
  it('encode all six views as tags and lexemes ending in <answer>', () => {
    const rng = new Rng(3);
    const t = triplet(rng);
    const views = [
      solverPrompt({ type: 'deduction', program: t.program, input: t.input }),
      solverPrompt({ type: 'abduction', program: t.program, output: t.output }),
      solverPrompt({
        type: 'induction',
        params: ['s'],
        shown: [{ input: '"ab"', output: 'ba' }],
        message: 'reverse each',
      }),
      proposerPrompt({ type: 'deduction', references: [t, triplet(rng)] }),
      proposerPrompt({ type: 'abduction', references: [t] }),
      proposerPrompt({ type: 'induction', program: t.program, params: ['s'], inputs: 10 }),
    ];
    for (const v of views) expect(tokenizer.decode(v.tokens).at(-1)).toBe('<answer>');
    expect(tokenizer.decode(views[2]!.tokens).join(' ')).toBe(
      '<solve> <induction> <params> function f(s) { <pairs> <input> " a b " <output> " b a " <message> reverse each <answer>',
    );
    expect(views.map((v) => v.answer.map((a) => a.kind))).toEqual([
      ['trace', 'value'],
      ['trace', 'args'],
      ['trace', 'program'],
      ['program', 'args'],
      ['program', 'args'],
      ['inputs+message'],
    ]);
  });

  it('encode a proposer prompt with K = 0 references (the paper’s "w/o references") as an empty references section', () => {
    for (const type of ['deduction', 'abduction'] as const) {
      const p = proposerPrompt({ type, references: [] });
      expect(tokenizer.decode(p.tokens)).toEqual([
        TAGS.role.propose,
        TAGS.type[type],
        TAGS.segment.references,
        TAGS.segment.answer,
      ]);
      expect(p.answer.map((a) => a.kind)).toEqual(['program', 'args']);
      expect(answerConstraint(p, [24, 12]).maxTokens).toBe(38);
    }
  });

  it('build supervised examples with the loss on the answer only', () => {
    const prompt = solverPrompt({ type: 'deduction', program: 'function f(n) { return n + 1; }', input: '2' });
    const ex = supervisedExample(prompt, [['3']]);
    expect(tokenizer.decode(ex.tokens.slice(prompt.tokens.length))).toEqual(['3', END]);
    expect(ex.lossMask.slice(-3)).toEqual([0, 1, 1]);
  });
});
