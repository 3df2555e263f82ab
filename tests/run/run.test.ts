// `azr run scenarios/tiny.yaml` end to end (real model, sandbox, learner): the run directory, the event invariants, golden determinism, bad scenarios.
//
// The command is driven through `addRunCommand` on a fresh commander program in this process, as src/cli/index.ts registers
// it (runResume.test.ts runs it as a separate process through tests/run/runMain.ts).

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBaseModel, saveBaseModel } from '../../src/pretrain/baseModel.js';
import { loadLatestCheckpoint } from '../../src/services/checkpointStore.js';
import { loadRunScenario, parseRunScenarioText } from '../../src/config/load.js';
import { baseModelDir } from '../../src/pretrain/baseModelCache.js';
import { scenarioProbeTasks } from '../../src/run/runInputs.js';
import { goldAnswer } from '../../src/pretrain/probeEval.js';
import { METRICS_COLUMNS } from '../../src/streams/metrics.js';
import { azrRun, comparable, invariantViolations, ofType, readEvents, runDirs } from './runHelpers.js';

let out: string;
let first: { code: number; stdout: string; stderr: string };
let firstDir: string;

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'azr-run-'));
  first = await azrRun(['scenarios/tiny.yaml', '--out', out, '--no-feed']);
  firstDir = runDirs(out)[0]!;
}, 120_000);
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('azr run scenarios/tiny.yaml', () => {
  it('completes and writes the run directory', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(path.basename(firstDir)).toMatch(/^tiny-\d{8}-\d{6}$/);
    for (const f of ['scenario.yaml', 'events.jsonl', 'metrics.csv', 'report.md'])
      expect(existsSync(path.join(firstDir, f)), f).toBe(true);
    const summary = JSON.parse(first.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary).toMatchObject({ runDir: firstDir, reason: 'completed', steps: 4 });
    expect(first.stderr).toMatch(/^step 4\/4 {2}reward propose/m); // plain lines when stderr is not a terminal
  });

  it('writes the resolved scenario, naming the base model it used', () => {
    const s = parseRunScenarioText(readFileSync(path.join(firstDir, 'scenario.yaml'), 'utf8'), 'scenario.yaml');
    expect(s.name).toBe('tiny');
    expect(s.base).toMatch(/\.cache\/base-[0-9a-f]{16}$/);
    expect(existsSync(path.join(s.base!, 'checkpoint.json'))).toBe(true);
  });

  it('logs events that hold the run invariants', () => {
    const events = readEvents(firstDir);
    // the base model was built first (tiny.yaml: 30 pretraining steps), logged as base.progress before run.started
    const build = events.slice(
      0,
      events.findIndex((e) => e.type === 'run.started'),
    );
    expect(new Set(build.map((e) => e.type))).toEqual(new Set(['base.progress']));
    const progress = ofType(build, 'base.progress');
    expect(progress[0]).toMatchObject({ state: 'building', trainStep: 0, totalSteps: 30, loss: null });
    expect(progress[0]!.probe).toBeGreaterThanOrEqual(0);
    expect(progress.at(-1)).toMatchObject({ state: 'built', trainStep: 30, totalSteps: 30 });
    expect(progress.at(-1)!.probe).toBe(progress.at(-2)!.probe); // the end probe, reported again once cached
    expect(progress.map((e) => e.trainStep)).toEqual([...Array.from({ length: 31 }, (_, k) => k), 30]);
    expect(events[events.length - 1]).toMatchObject({ type: 'run.finished', reason: 'completed', steps: 4 });
    expect(invariantViolations(events, 4)).toEqual([]);
    expect(ofType(events, 'probe.evaluated').map((e) => e.step)).toEqual([0, 2, 4]);
    // tiny.yaml samples 2 answers per probe task: pass@2 is at least the mean sampled pass@1
    for (const p of ofType(events, 'probe.evaluated')) {
      expect(p.sampled).toMatchObject({ k: 2, temperature: 1 });
      expect(p.sampled!.passAtK.overall).toBeGreaterThanOrEqual(p.sampled!.pass1.overall);
    }
    expect(ofType(events, 'checkpoint.saved').map((e) => [e.step, e.path])).toEqual([
      [2, 'checkpoints/step-2'],
      [4, 'checkpoints/step-4'],
    ]);
    expect(ofType(events, 'health')).toHaveLength(4);
    expect(ofType(events, 'learner.step').every((e) => e.kl !== undefined)).toBe(true); // the KL anchor is on in tiny.yaml
    // reasoning: every solver rollout says how long its trace was; health sums it per type; the probe its share
    const solved = ofType(events, 'rollout.scored').filter((e) => e.role === 'solve');
    expect(solved.length).toBeGreaterThan(0);
    expect(solved.every((e) => e.reasoning !== undefined)).toBe(true);
    // only deduction has a trace budget (abduction and induction answer directly)
    expect(solved.every((e) => e.task === 'deduction' || e.reasoning!.lexemes === 0)).toBe(true);
    for (const h of ofType(events, 'health')) {
      const d = solved.filter((e) => e.step === h.step && e.task === 'deduction');
      const traced = d.filter((e) => e.reasoning!.lexemes > 0).length;
      expect(h.reasoning!.deduction).toEqual(
        d.length === 0
          ? null
          : { share: traced / d.length, meanLexemes: d.reduce((n, e) => n + e.reasoning!.lexemes, 0) / d.length },
      );
    }
    for (const p of ofType(events, 'probe.evaluated')) {
      expect(p.traceShare).toMatchObject({ abduction: 0, induction: 0 });
      expect(p.sampled!.traceShare).toMatchObject({ abduction: 0, induction: 0 });
    }
  });

  it('writes one metrics row per step and a report with the probe curve', () => {
    const lines = readFileSync(path.join(firstDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(METRICS_COLUMNS.join(','));
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual([0, 1, 2, 3, 4]);
    const report = readFileSync(path.join(firstDir, 'report.md'), 'utf8');
    expect(report).toContain('## Probe curve');
    expect(report).toContain('| step | policy version | overall | deduction | abduction | induction | pass@2 |');
    expect(report.match(/^\| [024] \| [024] \| /gm)).toHaveLength(3);
  });

  it('records each probe task’s greedy answer and verdict, and report.md counts the tasks the run changed', async () => {
    const { evaluated } = await scenarioProbeTasks(await loadRunScenario('scenarios/tiny.yaml'));
    const probes = ofType(readEvents(firstDir), 'probe.evaluated');
    const share = (xs: readonly boolean[]) => xs.filter(Boolean).length / xs.length;
    for (const p of probes) {
      const results = p.results!;
      expect(results.map((r) => r.id)).toEqual(evaluated.map((t) => t.id)); // the probe's order
      expect(share(results.map((r) => r.correct))).toBeCloseTo(p.accuracy.overall, 12);
      for (const type of ['deduction', 'abduction', 'induction'] as const)
        expect(share(results.filter((_, i) => evaluated[i]!.task.type === type).map((r) => r.correct))).toBeCloseTo(
          p.accuracy[type]!,
          12,
        );
      expect(share(results.map((r) => r.trace > 0))).toBeCloseTo(p.traceShare!.overall, 12);
      results.forEach((r, i) => {
        if (r.answer === null) expect(r.correct).toBe(false);
        // a right deduction answer is the gold output, written as the language writes values
        if (evaluated[i]!.task.type === 'deduction' && r.correct) expect(r.answer).toBe(goldAnswer(evaluated[i]!));
      });
    }
    const before = probes[0]!.results!;
    const after = probes.at(-1)!.results!;
    const fixed = before.filter((r, i) => !r.correct && after[i]!.correct).length;
    const broken = before.filter((r, i) => r.correct && !after[i]!.correct).length;
    const kept = before.filter((r, i) => r.correct && after[i]!.correct).length;
    const net = fixed - broken;
    const report = readFileSync(path.join(firstDir, 'report.md'), 'utf8');
    expect(report).toContain('## Probe tasks that changed (step 0 → 4, greedy)');
    expect(report).toContain(
      `| **all** (${evaluated.length}) | ${fixed} | ${broken} | ${kept} | ${net >= 0 ? '+' : ''}${net} |`,
    );
  });

  it('times the phases of every step: they add up to its duration, and report.md and the progress lines show them', () => {
    const finished = ofType(readEvents(firstDir), 'step.finished');
    expect(finished).toHaveLength(4);
    for (const e of finished) {
      const sum = Object.values(e.phases ?? {}).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - e.durationMs)).toBeLessThan(1e-6 * Math.max(1, e.durationMs));
      expect(e.phases?.learn).toBeGreaterThan(0);
      expect(e.phases?.propose).toBeGreaterThan(0);
    }
    const report = readFileSync(path.join(firstDir, 'report.md'), 'utf8');
    expect(report).toMatch(/## Where a step's time goes \(median over 4 steps; step \d+\.\d\d s\)/);
    expect(report).toMatch(/^\| learn \| \d+ \| \d+% \|$/m);
    expect(first.stderr).toMatch(/^step 4\/4 .* \d+\.\d s \([a-zA-Z]+ \d+%/m);
  });

  it('uses the base directory baseModelDir names (what azr ablate groups its runs by)', async () => {
    const s = await loadRunScenario('scenarios/tiny.yaml');
    const { exclusion } = await scenarioProbeTasks(s);
    const used = parseRunScenarioText(readFileSync(path.join(firstDir, 'scenario.yaml'), 'utf8'), 'scenario.yaml').base;
    expect(used).toBe(baseModelDir(s, path.join(out, '.cache'), exclusion));
  });

  it('keeps the last checkpoints, each loadable with the coordinator’s state', async () => {
    const latest = await loadLatestCheckpoint(firstDir);
    expect(latest?.data.step).toBe(4);
    expect(latest?.model.step).toBe(4); // optimizer steps = policy version
    expect(latest?.data.seeded).toBe(true);
    expect(latest?.model.optimizer).not.toBeNull();
  });

  it('is deterministic: a second run with the same seed logs the same events, apart from t and throughput', async () => {
    // the base model is built again (the cache emptied), so its build is compared too
    await rm(path.join(out, '.cache'), { recursive: true, force: true });
    const again = await azrRun(['scenarios/tiny.yaml', '--out', out, '--no-feed']);
    expect(again.code, again.stderr).toBe(0);
    const secondDir = runDirs(out).find((d) => d !== firstDir)!;
    expect(comparable(readEvents(secondDir))).toEqual(comparable(readEvents(firstDir)));
  }, 120_000);

  it('decays the learning rate with learner.lrEnd: the same first update as the constant rate, then other weights', async () => {
    const dirsBefore = runDirs(out);
    const decayed = await azrRun(['scenarios/tiny.yaml', '--out', out, '--no-feed', '--set', 'learner.lrEnd=1e-6']);
    expect(decayed.code, decayed.stderr).toBe(0);
    const dir = runDirs(out).find((d) => !dirsBefore.includes(d))!;
    const steps = (d: string) => ofType(readEvents(d), 'learner.step').map((e) => [e.loss, e.gradNorm]);
    const [constant, decay] = [steps(firstDir), steps(dir)];
    expect(decay).toHaveLength(4); // every step learned (a rate of 0 at the last step was refused before lrEnd > 0)
    expect(ofType(readEvents(dir), 'error')).toEqual([]);
    // step 1 runs at lr either way (and step 2's loss is taken before its smaller update): the same two steps
    expect(decay.slice(0, 2)).toEqual(constant.slice(0, 2));
    // from step 3 on the model was updated at another rate
    expect(decay.slice(2)).not.toEqual(constant.slice(2));
  }, 120_000);

  it('runs with policy.traceScaffold names: the resolved scenario names it, and traces that follow their programs are graded on their answers', async () => {
    const dirsBefore = runDirs(out);
    const scaffolded = await azrRun([
      'scenarios/tiny.yaml',
      '--out',
      out,
      '--no-feed',
      '--set',
      'policy.traceScaffold=names',
    ]);
    expect(scaffolded.code, scaffolded.stderr).toBe(0);
    const dir = runDirs(out).find((d) => !dirsBefore.includes(d))!;
    expect((await loadRunScenario(path.join(dir, 'scenario.yaml'))).policy.traceScaffold).toBe('names');
    const events = readEvents(dir);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', reason: 'completed', steps: 4 });
    const traced = ofType(events, 'rollout.scored').filter((e) => e.role === 'solve' && e.reasoning!.lexemes > 0);
    expect(traced.length).toBeGreaterThan(0);
    // a scaffolded left side restates the values as written (`false + 3`): still well-formed, never a format error
    expect(traced.filter((e) => e.reward === -1)).toEqual([]);
    // the same seed with free traces (the first run) wrote other traces: the run's solver decoded with the scaffold
    const reasoning = (d: string) =>
      ofType(readEvents(d), 'rollout.scored')
        .filter((e) => e.role === 'solve')
        .map((e) => [e.id, e.reasoning, e.tokens]);
    expect(reasoning(dir)).not.toEqual(reasoning(firstDir));
  }, 120_000);

  it('runs the random-tasks control (policy.proposer generator): generator proposals, only solver rollouts trained', async () => {
    const dirsBefore = runDirs(out);
    const control = await azrRun([
      'scenarios/tiny.yaml',
      '--out',
      out,
      '--no-feed',
      '--set',
      'policy.proposer=generator',
      '--set',
      'selfPlay.trainProposer=false',
    ]);
    expect(control.code, control.stderr).toBe(0);
    const dir = runDirs(out).find((d) => !dirsBefore.includes(d))!;
    const events = readEvents(dir);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', reason: 'completed', steps: 4 });
    expect(ofType(events, 'learner.step')).toHaveLength(4);
    const scored = ofType(events, 'rollout.scored');
    expect(scored.length).toBeGreaterThan(0);
    expect(scored.every((e) => e.role === 'solve')).toBe(true);
    // the proposals are the generator's, not the model's: all of them parse (the model's sometimes do not)
    const proposals = ofType(events, 'proposal.validated');
    expect(proposals.length).toBeGreaterThan(0);
    expect(proposals.some((p) => p.error === 'format')).toBe(false);
  }, 120_000);
});

describe('azr run with a bad scenario', () => {
  it('exits 2 with the field path and position, and starts nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'azr-bad-'));
    try {
      const file = path.join(dir, 'bad.yaml');
      await writeFile(file, 'name: bad\nselfPlay:\n  steps: 2\n  batch: { solve: 0 }\n');
      const r = await azrRun([file, '--out', path.join(dir, 'runs'), '--no-feed']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:4:19: selfPlay.batch.solve:`);
      expect(runDirs(path.join(dir, 'runs'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'a probe file that does not exist',
      ['probe.file=/nonexistent/probe.jsonl'],
      'probe.file: cannot read /nonexistent/probe.jsonl: ENOENT',
    ],
    [
      'a context the probe prompts do not fit',
      ['model.contextLength=64'],
      'do not fit a context of 64: raise model.contextLength',
    ],
    ['a base directory without a checkpoint', ['base=scenarios'], 'base: scenarios holds no checkpoint'],
  ])('exits 2 on %s, before a run directory or base model exists', async (_what, sets, message) => {
    const never = path.join(out, 'never-input');
    const r = await azrRun(['scenarios/tiny.yaml', ...sets.flatMap((x) => ['--set', x]), '--out', never, '--no-feed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(existsSync(never)).toBe(false);
  });

  it('exits 2 when the base is a checkpoint but not a base model, or its context is too short for the probe', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'azr-base-'));
    try {
      // a self-play checkpoint of the first run is not a base model
      const notBase = await azrRun([
        'scenarios/tiny.yaml',
        '--set',
        `base=${path.join(firstDir, 'checkpoints', 'step-4')}`,
        '--out',
        path.join(dir, 'runs'),
        '--no-feed',
      ]);
      expect(notBase.code).toBe(2);
      expect(notBase.stderr).toContain('is a checkpoint but not a base model');
      // the first run's base, saved again with a 64-token context (rotary positions: the weights do not depend on it)
      const { model, info } = await loadBaseModel(
        parseRunScenarioText(readFileSync(path.join(firstDir, 'scenario.yaml'), 'utf8'), 'scenario.yaml').base!,
      );
      const short = path.join(dir, 'short-base');
      await saveBaseModel(short, { ...model.config, contextLength: 64 }, model.readWeights(), info);
      model.dispose();
      const r = await azrRun([
        'scenarios/tiny.yaml',
        '--set',
        `base=${short}`,
        '--out',
        path.join(dir, 'runs'),
        '--no-feed',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`do not fit a context of 64: raise the context of the base model ${short}`);
      expect(runDirs(path.join(dir, 'runs'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on an unknown --set field', async () => {
    const r = await azrRun([
      'scenarios/tiny.yaml',
      '--set',
      'selfPlay.stepz=3',
      '--out',
      path.join(out, 'never'),
      '--no-feed',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('selfPlay.stepz: unknown field');
    expect(existsSync(path.join(out, 'never'))).toBe(false);
  });
});

describe('azr run scenarios/tiny.yaml --set selfPlay.mode=async', () => {
  it('overlaps rollouts with learning and, one version behind within the default maxStaleness 1, learns every step; a gap-free log', async () => {
    // Arrange / Act (the base model is the cached one: the first run built it, the determinism run again)
    const dir = path.join(out, 'async');
    const r = await azrRun([
      'scenarios/tiny.yaml',
      '--set',
      'selfPlay.mode=async',
      '--set',
      `run.cacheDir=${path.join(out, '.cache')}`,
      '--out',
      dir,
      '--no-feed',
    ]);

    // Assert
    expect(r.code, r.stderr).toBe(0);
    const events = readEvents(runDirs(dir)[0]!);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    for (let i = 1; i < events.length; i++) expect(events[i]!.step).toBeGreaterThanOrEqual(events[i - 1]!.step);
    expect(events[events.length - 1]).toMatchObject({ type: 'run.finished', reason: 'completed', steps: 4 });
    expect(ofType(events, 'run.started')[0]!.scenario).toMatchObject({ selfPlay: { mode: 'async', maxStaleness: 1 } });
    // with the default maxStaleness 1, the rollouts made one version behind are learned from: every step learns
    const learned = ofType(events, 'learner.step');
    expect(learned.map((e) => e.policyVersion)).toEqual([1, 2, 3, 4]);
    expect(ofType(events, 'rollout.dropped').filter((e) => e.reason === 'stale')).toEqual([]);
    // Every trained rollout is either scored or dropped, never both.
    const scored = ofType(events, 'rollout.scored').map((e) => e.id);
    const dropped = ofType(events, 'rollout.dropped');
    expect(new Set([...scored, ...dropped.map((e) => e.id)]).size).toBe(scored.length + dropped.length);
    expect(ofType(events, 'error')).toEqual([]);
    expect(ofType(events, 'step.finished').map((e) => e.step)).toEqual([1, 2, 3, 4]);
  }, 120_000);
});

describe('azr run with the anti-degeneracy options', () => {
  it('caps programs per buffer and adds the novelty bonus; the reward rule (with the bonus) holds for every proposal', async () => {
    const dir = path.join(out, 'antidegeneracy');
    const r = await azrRun([
      'scenarios/tiny.yaml',
      '--set',
      'selfPlay.buffer.maxProgramShare=0.01', // about one task per program: this run re-proposes buffered programs, so the cap fires
      '--set',
      'selfPlay.novelty={ coef: 0.5, window: 2 }',
      '--set',
      `run.cacheDir=${path.join(out, '.cache')}`,
      '--out',
      dir,
      '--no-feed',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const events = readEvents(runDirs(dir)[0]!);
    expect(invariantViolations(events, 4)).toEqual([]); // proposer reward = learnability rule + novelty bonus
    const health = ofType(events, 'health');
    expect(health.every((e) => Number.isInteger(e.programCapped))).toBe(true);
    expect(health.reduce((n, e) => n + e.programCapped!, 0)).toBeGreaterThan(0);
    for (const h of health) {
      const valid = ofType(events, 'proposal.validated').filter((e) => e.step === h.step && e.valid).length;
      expect(h.programCapped).toBeLessThanOrEqual(valid); // only valid tasks reach the buffer
    }
    const trained = ofType(events, 'proposal.validated').filter(
      (e) => e.step > 0 && e.valid && e.learnability !== null,
    );
    expect(trained.length).toBeGreaterThan(0);
    for (const e of trained) {
      expect(e.novelty).toBeGreaterThan(0);
      expect(e.novelty).toBeLessThanOrEqual(0.5);
    }
  }, 120_000);
});
