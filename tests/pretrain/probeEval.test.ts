// Probe evaluation: the oracle scores 100%, wrong answers 0%, and a real model's greedy answers are graded the same way.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProbeJsonl, type ProbeTask } from '../../src/azr/probe.js';
import { Rng } from '../../src/azr/rng.js';
import { traceLexemes, traceOf } from '../../src/azr/trace.js';
import { inductionSplit, programParams } from '../../src/azr/tasks.js';
import { valueEquals, valueSource, type Value } from '../../src/azr/lang/value.js';
import { solverView } from '../../src/azr/views.js';
import { initBackend } from '../../src/gpu/backend.js';
import { Learner } from '../../src/gpu/learner.js';
import { Gpt, type GptConfig } from '../../src/gpu/model.js';
import { solverPrompt, supervisedExample, tokenizer } from '../../src/gpu/tokenizer.js';
import { lex } from '../../src/azr/lang/lex.js';
import { valueLexemes } from '../../src/azr/lang/value.js';
import {
  goldAnswer,
  gradeProbe,
  gradeSampledProbe,
  loadProbeTasks,
  ProbeEvaluator,
  probePrompts,
  type ProbeAnswer,
} from '../../src/pretrain/probeEval.js';
import { SandboxPool } from '../../src/sandbox/index.js';

let pool: SandboxPool;
let tasks: ProbeTask[];

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  pool = new SandboxPool({ workers: 1 });
  tasks = await loadProbeTasks();
});
afterAll(async () => {
  await pool.close();
});

/** A value that is certainly not `v`. */
function otherValue(v: Value): string {
  const candidates: Value[] = [29, 'EEEEEEEE', [9, 9, 9, 9, 9, 9], true, false];
  return valueSource(candidates.find((c) => !valueEquals(c, v))!);
}

/** A wrong answer of the right kind: another value; an input whose evaluation throws; a program returning null. */
function wrongAnswer(t: ProbeTask): string {
  const task = t.task;
  if (task.type === 'deduction') return otherValue(task.output);
  if (task.type === 'abduction')
    return programParams(task.program)!
      .map(() => 'null.x')
      .join(', ');
  return `function f(${programParams(task.program)!.join(', ')}) { return null; }`;
}

describe('grading', () => {
  it('grades the gold answers 100% on every type and tier', async () => {
    const r = await gradeProbe(pool, tasks, tasks.map(goldAnswer));
    expect(r.tasks).toBe(360);
    expect(r.accuracy).toEqual({ deduction: 1, abduction: 1, induction: 1, overall: 1 });
    for (const tier of ['easy', 'medium', 'hard'] as const) expect(r.byTier[tier].overall).toBe(1);
    expect(r.results.every((t) => t.correct)).toBe(true);
  });

  it('grades wrong answers, and missing ones, 0%', async () => {
    const wrong = await gradeProbe(pool, tasks, tasks.map(wrongAnswer));
    expect(wrong.accuracy).toEqual({ deduction: 0, abduction: 0, induction: 0, overall: 0 });
    const none = await gradeProbe(
      pool,
      tasks,
      tasks.map(() => null),
    );
    expect(none.accuracy.overall).toBe(0);
  });

  it('accepts any abduction input that produces the output, and grades induction on the hidden pairs only', async () => {
    // the gold input of abduction written differently (extra spaces) still passes; induction's gold passes hidden pairs
    const abd = tasks.filter((t) => t.task.type === 'abduction').slice(0, 5);
    const r = await gradeProbe(
      pool,
      abd,
      abd.map((t) => ` ${goldAnswer(t)} `),
    );
    expect(r.accuracy.overall).toBe(1);
    const ind = tasks.find((t) => t.task.type === 'induction')!;
    expect(inductionSplit(ind.task as never).hidden).toHaveLength(5);
  });

  it('scores a mixed answer set per type and tier', async () => {
    // Arrange: the gold answer for even indices, a wrong one for odd
    const answers: ProbeAnswer[] = tasks.map((t, i) => (i % 2 === 0 ? goldAnswer(t) : wrongAnswer(t)));
    // Act
    const r = await gradeProbe(pool, tasks, answers);
    // Assert: 40 tasks per (type, tier), in order, so exactly half of each group
    expect(r.accuracy).toEqual({ deduction: 0.5, abduction: 0.5, induction: 0.5, overall: 0.5 });
    expect(r.byTier.hard.overall).toBe(0.5);
  });
});

describe('probe prompts', () => {
  it('give every deduction trace the scaffold of its task with policy.traceScaffold, and no trace one without', () => {
    const scaffolds = (o?: 'off' | 'names' | 'reads') =>
      probePrompts(tasks, 256, undefined, o).map((p) => p.encoded.answer[0]!.scaffold);
    for (const operands of ['names', 'reads'] as const)
      scaffolds(operands).forEach((sc, i) => {
        const t = tasks[i]!.task;
        expect(sc).toEqual(t.type === 'deduction' ? { program: t.program, input: t.input, operands } : undefined);
      });
    expect(scaffolds('off').every((sc) => sc === undefined)).toBe(true);
    expect(scaffolds().every((sc) => sc === undefined)).toBe(true);
  });
});

describe('pass@k from sampled answers', () => {
  it('counts a task as passed at k when any of its k samples is right, and pass@1 as the share of right samples', async () => {
    // Arrange: 4 samples per task; task i gets the gold answer in (i mod 3) of them (0, 1 or 2 of 4)
    const k = 4;
    const samples: ProbeAnswer[][] = Array.from({ length: k }, (_, j) =>
      tasks.map((t, i) => (j < i % 3 ? goldAnswer(t) : wrongAnswer(t))),
    );
    // Act
    const r = await gradeSampledProbe(pool, tasks, samples, 1);
    // Assert: two thirds of the tasks have a right sample; the mean right share is (0 + 1/4 + 2/4) / 3
    const tasksWith = tasks.filter((_, i) => i % 3 > 0).length / tasks.length;
    expect(r.k).toBe(4);
    expect(r.passAtK.overall).toBeCloseTo(tasksWith, 10);
    expect(r.pass1.overall).toBeCloseTo(tasks.reduce((n, _t, i) => n + (i % 3) / k, 0) / tasks.length, 10);
    for (const tier of ['easy', 'medium', 'hard'] as const) expect(r.passAtKByTier[tier].overall).toBeGreaterThan(0.6);
  });

  it('is 100% with the gold answer in one sample only, 0% with none', async () => {
    const few = tasks.slice(0, 40);
    const oneRight = await gradeSampledProbe(
      pool,
      few,
      [few.map(wrongAnswer), few.map(goldAnswer), few.map(() => null)],
      1,
    );
    expect(oneRight.passAtK.overall).toBe(1);
    expect(oneRight.pass1.overall).toBeCloseTo(1 / 3, 10);
    const none = await gradeSampledProbe(pool, few, [few.map(wrongAnswer), few.map(() => null)], 1);
    expect(none.passAtK.overall).toBe(0);
  });
});

describe('a real model', () => {
  const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 192, layers: 1, width: 32, heads: 2 };

  it('that memorised a few gold answers scores 100% on them; a fresh one does not, and both engines agree', async () => {
    // Arrange: two tasks of each type, and a tiny model trained on their gold answers until it knows them
    const few = (['deduction', 'abduction', 'induction'] as const).flatMap((type) =>
      tasks.filter((t) => t.task.type === type && t.tier === 'easy').slice(0, 2),
    );
    const model = Gpt.init(config, new Rng(3));
    const fresh = Gpt.init(config, new Rng(3));
    const ort = await ProbeEvaluator.create(few, pool, config, { engine: 'ort' });
    const tfjs = await ProbeEvaluator.create(few, pool, config, { engine: 'tfjs' });
    // the first deduction task is answered after its gold reasoning trace, the others directly
    const batch = few.map((t, i) => {
      const prompt = solverPrompt(solverView(t.task.type, t.task as never));
      const task = t.task;
      const trace = task.type === 'deduction' && i === 0 ? traceLexemes(traceOf(task.program, task.input)!.steps) : [];
      const answer =
        task.type === 'deduction'
          ? valueLexemes(task.output)
          : task.type === 'abduction'
            ? (lex(task.input, 'args', { params: programParams(task.program)! }) as { lexemes: string[] }).lexemes
            : (lex(task.program, 'program') as { lexemes: string[] }).lexemes;
      return supervisedExample(prompt, [trace, answer]);
    });
    const learner = new Learner(model, { lr: 1e-2, weightDecay: 0 });
    for (let i = 0; i < 200 && learner.supervisedLoss(batch) > 0.01; i++) learner.supervisedStep(batch);
    try {
      // Act
      const trained = await ort.evaluate(model);
      const trainedTfjs = await tfjs.answers(model);
      const before = await ort.evaluate(fresh);
      // Assert
      expect(trained.accuracy.overall).toBe(1);
      expect(trained.traceShare).toEqual({ deduction: 0.5, abduction: 0, induction: 0, overall: 1 / 6 });
      expect(trainedTfjs).toEqual(await ort.answers(model.readWeights()));
      expect(before.accuracy.overall).toBeLessThan(1);
      expect(await tfjs.answers(fresh)).toEqual(await ort.answers(fresh));
      // sampled: k answer sets drawn from the given stream (the same stream, the same samples), pass@k ≥ greedy here
      const rng = new Rng('samples');
      const sampled = await ort.evaluate(model, { k: 3, temperature: 1, rng });
      expect(sampled.sampled?.k).toBe(3);
      expect(sampled.accuracy).toEqual(trained.accuracy);
      expect(sampled.sampled!.passAtK.overall).toBeGreaterThanOrEqual(sampled.sampled!.pass1.overall);
      expect((await ort.evaluate(model, { k: 3, temperature: 1, rng })).sampled).toEqual(sampled.sampled);
    } finally {
      learner.dispose();
      model.dispose();
      fresh.dispose();
      await ort.release();
      await tfjs.release();
    }
  });

  it('refuses a context too short for the probe prompts', async () => {
    await expect(
      ProbeEvaluator.create(tasks, pool, { ...config, contextLength: 64 }, { engine: 'tfjs' }),
    ).rejects.toThrow(/do not fit a context of 64/);
  });
});

describe('the probe file', () => {
  it('parses to 360 tasks', () => {
    expect(parseProbeJsonl('')).toEqual([]);
    expect(tasks).toHaveLength(360);
  });
});
