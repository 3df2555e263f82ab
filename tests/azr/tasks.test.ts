import { describe, expect, it } from 'vitest';
import { accepts, start, allowedNext } from '../../src/azr/lang/automaton.js';
import { TaskBuffer } from '../../src/azr/buffer.js';
import { lex } from '../../src/azr/lang/lex.js';
import { messageFor } from '../../src/azr/lang/message.js';
import { Rng } from '../../src/azr/rng.js';
import {
  HETEROGENEOUS_INPUTS,
  IDENTITY_PROGRAM,
  identityInductionTask,
  identityTriplet,
  isIdentityProgram,
  seedBuffers,
} from '../../src/azr/seeds.js';
import {
  ANSWER_KIND,
  inductionSplit,
  PROPOSAL_SEGMENTS,
  programParams,
  readInductionProposal,
  type InductionTask,
  type Triplet,
} from '../../src/azr/tasks.js';
import { answerContext, proposerView, solverView } from '../../src/azr/views.js';
import { valueType } from '../../src/azr/lang/value.js';

const triplet: Triplet = { program: 'function f(s, n) { return s.slice(n); }', input: '"abc", 1', output: 'bc' };
const induction: InductionTask = {
  program: 'function f(n) { return n * 2; }',
  inputs: ['1', '2', '3', '4', '5', '6', '7'],
  outputs: [2, 4, 6, 8, 10, 12, 14],
  message: 'times',
};

describe('task views', () => {
  it('shows the deduction solver the program and input, not the output', () => {
    const v = solverView('deduction', triplet);
    expect(v).toEqual({ type: 'deduction', program: triplet.program, input: triplet.input });
    expect(ANSWER_KIND.deduction).toBe('value');
    expect(answerContext(v)).toBeUndefined();
  });

  it('shows the abduction solver the program and output, not the input, and asks for its arguments', () => {
    const v = solverView('abduction', triplet);
    expect(v).toEqual({ type: 'abduction', program: triplet.program, output: 'bc' });
    expect(ANSWER_KIND.abduction).toBe('args');
    expect(answerContext(v)).toEqual({ params: ['s', 'n'] });
  });

  it('shows the induction solver half the pairs and the message, never the program', () => {
    const v = solverView('induction', induction);
    expect(v.type === 'induction' && v.shown).toEqual([
      { input: '1', output: 2 },
      { input: '2', output: 4 },
      { input: '3', output: 6 },
    ]);
    expect(JSON.stringify(v)).not.toContain('return');
    expect(ANSWER_KIND.induction).toBe('program');
    expect(allowedNext(start('program', answerContext(v)))).toEqual(['function f(n) {']);
  });

  it('splits N pairs into the first ⌊N/2⌋ shown and the rest hidden', () => {
    const { shown, hidden } = inductionSplit(induction);
    expect(shown.map((p) => p.input)).toEqual(['1', '2', '3']);
    expect(hidden.map((p) => p.input)).toEqual(['4', '5', '6', '7']);
    const ten = identityInductionTask(10);
    expect(inductionSplit(ten).shown).toHaveLength(5);
    expect(inductionSplit(ten).hidden).toHaveLength(5);
    expect(() => inductionSplit({ ...induction, inputs: ['1'], outputs: [2] })).toThrow(RangeError);
  });

  it('builds proposer views: K distinct references of that type; induction takes one program from deduction ∪ abduction', () => {
    const deduction = new TaskBuffer<Triplet>();
    const abduction = new TaskBuffer<Triplet>();
    for (let i = 0; i < 10; i++) deduction.add([{ ...triplet, input: `"abc", ${i}` }], i);
    abduction.add([{ program: 'function f(xs) { return xs.length; }', input: '[1]', output: 1 }], 0);
    const rng = new Rng(1);
    const v = proposerView('deduction', { deduction, abduction }, rng, { k: 6 });
    expect(v.type === 'deduction' && new Set(v.references.map((r) => r.input)).size).toBe(6);
    const a = proposerView('abduction', { deduction, abduction }, rng);
    expect(a.type === 'abduction' && a.references).toHaveLength(1);
    const programs = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const iv = proposerView('induction', { deduction, abduction }, rng);
      if (iv.type !== 'induction') throw new Error('expected an induction view');
      expect(iv.inputs).toBe(10);
      expect(iv.params).toEqual(programParams(iv.program));
      programs.add(iv.program);
    }
    expect(programs).toEqual(new Set([triplet.program, 'function f(xs) { return xs.length; }']));
    expect(PROPOSAL_SEGMENTS.induction).toEqual(['inputs+message']);
    expect(PROPOSAL_SEGMENTS.deduction).toEqual(['program', 'args']);
  });

  it('reads an induction proposal into argument lists and a message', () => {
    const l = lex('"ab", 1; "", -2; "E", 0 // part upper', 'inputs+message', { params: ['s', 'n'], inputs: 3 });
    expect(l.ok).toBe(true);
    if (!l.ok) return;
    expect(readInductionProposal(l.lexemes, ['s', 'n'], 3)).toEqual({
      inputs: ['"ab", 1', '"", -2', '"E", 0'],
      message: 'part upper',
    });
    expect(() => readInductionProposal(l.lexemes, ['s', 'n'], 4)).toThrow();
    expect(lex('"ab", 1; "c", 2 // return s', 'inputs+message', { params: ['s', 'n'], inputs: 2 }).ok).toBe(false);
  });

  it('writes messages from the words of a program', () => {
    const l = lex('function f(xs) { return xs.map(x => x * 2).length > 3; }', 'program');
    expect(l.ok && messageFor(l.lexemes)).toBe('each times length compare');
    const s = lex('function f(s) { return s[0] + "a"; }', 'program');
    expect(s.ok && messageFor(s.lexemes)).toBe('item add');
  });
});

describe('identity seeds', () => {
  it('seed deduction and abduction with the identity on a string, induction over heterogeneous inputs, at step 0', () => {
    const b = seedBuffers();
    for (const type of ['deduction', 'abduction'] as const) {
      expect(b[type].entries()).toEqual([{ id: 0, step: 0, task: identityTriplet() }]);
      expect(b[type].entries()[0]!.task).toEqual({
        program: 'function f(a) { return a; }',
        input: '"abc"',
        output: 'abc',
      });
    }
    const ind = b.induction.entries()[0]!.task;
    expect(ind.inputs).toHaveLength(10);
    expect(ind.outputs).toEqual(HETEROGENEOUS_INPUTS.slice(0, 10));
    expect(new Set(ind.outputs.map((v) => valueType(v)))).toEqual(new Set(['str', 'int', 'arr', 'bool']));
    expect(seedBuffers({ inputs: 4 }).induction.entries()[0]!.task.inputs).toHaveLength(4);
  });

  it('are written in the task language', () => {
    expect(lex(IDENTITY_PROGRAM, 'program').ok).toBe(true);
    const ind = identityInductionTask(10);
    for (const input of ind.inputs) expect(lex(input, 'args', { params: ['a'] }).ok).toBe(true);
    const msg = lex(`${ind.inputs.join('; ')} // ${ind.message}`, 'inputs+message', { params: ['a'], inputs: 10 });
    expect(msg.ok).toBe(true);
    expect(accepts('value', ['"', 'a', 'b', 'c', '"'])).toBe(true);
  });

  it('recognises identity programs in any signature', () => {
    expect(isIdentityProgram(IDENTITY_PROGRAM)).toBe(true);
    expect(isIdentityProgram('function f(s, n) { return n; }')).toBe(true);
    expect(isIdentityProgram('function f(s, n) { return s.length; }')).toBe(false);
  });
});
