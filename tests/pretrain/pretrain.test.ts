// `azr pretrain` through its commander command: a tiny budget writes a loadable base checkpoint and the JSON line; seeded runs repeat exactly.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/gpu/backend.js';
import { runInProcess } from '../inProcessCli.js';
import { runAzr } from '../azrProcess.js';
import { loadProbeTasks } from '../../src/pretrain/probeEval.js';
import { probeToJsonl } from '../../src/azr/probe.js';
import { loadBaseModel, readBaseModelInfo, vocabFingerprint } from '../../src/pretrain/baseModel.js';
import { learningRate } from '../../src/pretrain/pretrain.js';
import { addPretrainCommand, pretrainCommand, resolvePretrainScenario } from '../../src/cli/commands/pretrain.js';
import { defaultPretrainScenario, parsePretrainScenario } from '../../src/config/pretrainConfig.js';
import { loadPretrainScenario } from '../../src/config/load.js';
import { fileURLToPath } from 'node:url';

let dir: string;
let scenarioFile: string;
let probeFile: string;

/** A model and data small enough for a few steps in seconds; the probe is a 9-task slice. */
const TINY = `
seed: 5
model: { layers: 1, width: 16, heads: 2, contextLength: 192 }
pretrain:
  steps: 3
  batchSize: 4
  programsPerChunk: 12
  chunkBatches: 2
  prefetch: 1
  references: 1
  warmupSteps: 1
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'azr-pretrain-'));
  scenarioFile = path.join(dir, 'tiny.yaml');
  await writeFile(scenarioFile, TINY);
  const tasks = await loadProbeTasks();
  probeFile = path.join(dir, 'probe.jsonl');
  await writeFile(probeFile, probeToJsonl(tasks.filter((_, i) => i % 40 === 0)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `azr pretrain ARGS` in this process; returns the exit code and output. */
const cli = (args: string[]) => runInProcess('pretrain', args, (program, io) => addPretrainCommand(program, io));

describe('azr pretrain', () => {
  it('writes a loadable base checkpoint and ends with the JSON line', async () => {
    const out = path.join(dir, 'base');
    const r = await cli([scenarioFile, '--out', out, '--probe', probeFile]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const json = JSON.parse(lines[0]!) as Record<string, number>;
    expect(Object.keys(json)).toEqual(['probeStart', 'probeEnd', 'seconds', 'steps', 'cpuSeconds']);
    expect(json.steps).toBe(3);
    expect(json.probeStart).toBeGreaterThanOrEqual(0);
    expect(json.probeEnd).toBeLessThanOrEqual(1);
    expect(r.stderr).toMatch(/probe @ step 0/);
    expect(r.stderr).toMatch(/probe @ step 3/);

    const { model, info } = await loadBaseModel(out);
    try {
      expect(model.config).toMatchObject({ layers: 1, width: 16, heads: 2, contextLength: 192 });
      expect(info.vocab.sha256).toBe(vocabFingerprint());
      expect(info.seed).toBe(5);
      expect(info.steps).toBe(3);
      expect((info.scenario.pretrain as { batchSize: number }).batchSize).toBe(4);
      expect(info.curve.map((c) => c.step)).toEqual([0, 3]);
    } finally {
      model.dispose();
    }
    const curve = (await readFile(path.join(out, 'curve.jsonl'), 'utf8')).trim().split('\n');
    expect(curve).toHaveLength(2);
    // pretrain.json keeps the probe's figures, not its per-task verdicts and answers (a run's first probe has those)
    const record = JSON.parse(await readFile(path.join(out, 'pretrain.json'), 'utf8')) as Record<string, object>;
    for (const probe of [record.probeStart!, record.probeEnd!]) {
      expect(Object.keys(probe)).toEqual(expect.arrayContaining(['tasks', 'accuracy', 'byTier', 'traceShare']));
      expect(probe).not.toHaveProperty('results');
      expect(probe).not.toHaveProperty('correct');
    }
  });

  it('reads a scenario through its extends: chain', async () => {
    // Arrange: a file that only extends the tiny scenario and changes the seed
    const child = path.join(dir, 'child.yaml');
    await writeFile(child, `extends: ${path.basename(scenarioFile)}\nseed: 6\n`);
    // Act
    const r = await cli([child, '--out', path.join(dir, 'child-base'), '--steps', '1', '--probe', probeFile]);
    // Assert: the parent's model (width 16, one layer) was used, with the child's seed
    expect(r.code, r.stderr).toBe(0);
    const { model, info } = await loadBaseModel(path.join(dir, 'child-base'));
    expect(model.config).toMatchObject({ layers: 1, width: 16 });
    expect(JSON.stringify(info)).toContain('"seed":6');
    model.dispose();
  });

  it('applies --set to the model: and pretrain: fields after the file, and refuses a field it does not read', async () => {
    // Act: the tiny scenario, two heads → four and 3 steps → 1 through --set
    const out = path.join(dir, 'set-base');
    const r = await cli([
      scenarioFile,
      '--set',
      'model.heads=4',
      '--set',
      'pretrain.steps=1',
      '--out',
      out,
      '--probe',
      probeFile,
    ]);
    // Assert
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim()).steps).toBe(1);
    const { model, info } = await loadBaseModel(out);
    expect(model.config).toMatchObject({ layers: 1, width: 16, heads: 4 });
    expect(info.seed).toBe(5);
    model.dispose();

    const bad = await cli([scenarioFile, '--set', 'pretrain.batchSize=0', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tiny\.yaml with the command-line options is invalid:\n\s+pretrain\.batchSize/);
    const other = await cli([scenarioFile, '--set', 'selfPlay.steps=3', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('--set selfPlay.steps=3: azr pretrain reads seed, model, pretrain (not selfPlay)');
    const malformed = await cli(['--set', 'pretrain.steps', '--out', out]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--set pretrain.steps: expected key.path=value');
  });

  it('applies the budget flags over the file and --set: --steps clears a minutes budget, --seed and --probe-every replace', async () => {
    const file = path.join(dir, 'minutes.yaml');
    await writeFile(file, 'seed: 3\npretrain: { minutes: 5, probeEvery: 7 }\n');
    const s = await resolvePretrainScenario({
      scenario: file,
      out: dir,
      set: ['pretrain.steps=9', 'seed=4'],
      steps: 2,
      seed: 6,
      probeEvery: 1,
    });
    expect(s.seed).toBe(6);
    expect(s.pretrain).toMatchObject({ steps: 2, minutes: null, probeEvery: 1 });
    const minutes = await resolvePretrainScenario({ scenario: file, out: dir, minutes: 0.5 });
    expect(minutes.pretrain).toMatchObject({ minutes: 0.5, probeEvery: 7 });
    expect(minutes.seed).toBe(3);
  });

  it('is deterministic for a step budget: the same seed gives the same weights, another seed others', async () => {
    const run = async (name: string, seed: string) => {
      const out = path.join(dir, name);
      const r = await cli([scenarioFile, '--out', out, '--seed', seed, '--steps', '2', '--probe', probeFile]);
      expect(r.code).toBe(0);
      return readFile(path.join(out, 'weights.f32'));
    };
    const a = await run('a', '9');
    const b = await run('b', '9');
    const c = await run('c', '10');
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('follows a trace-share schedule (pretrain.traceShareEnd): recorded with the base, a flat one changes nothing', async () => {
    const run = async (name: string, sets: string[]) => {
      const out = path.join(dir, name);
      const r = await cli([scenarioFile, '--out', out, ...sets.flatMap((x) => ['--set', x]), '--probe', probeFile]);
      expect(r.code, r.stderr).toBe(0);
      return { out, weights: await readFile(path.join(out, 'weights.f32')) };
    };
    const constant = await run('share-1', ['pretrain.traceShare=1']);
    const flat = await run('share-1-1', ['pretrain.traceShare=1', 'pretrain.traceShareEnd=1']);
    const falling = await run('share-1-0', ['pretrain.traceShare=1', 'pretrain.traceShareEnd=0']);
    expect(flat.weights.equals(constant.weights)).toBe(true);
    // steps 3 and on come from the second chunk, labelled at the end share (0): other data, other weights
    expect(falling.weights.equals(constant.weights)).toBe(false);
    const { info } = await readBaseModelInfo(falling.out);
    expect(info.scenario['pretrain']).toMatchObject({ traceShare: 1, traceShareEnd: 0 });
  });

  it('builds with the options for single operations (drills, read steps, an untied head): recorded, loadable, probed', async () => {
    const out = path.join(dir, 'operations');
    const sets = [
      'pretrain.formats.drillSteps=2',
      'pretrain.formats.copyReads=1',
      'pretrain.traceOperands=reads',
      'model.outputHead=untied',
    ];
    const r = await cli([scenarioFile, '--out', out, ...sets.flatMap((x) => ['--set', x]), '--probe', probeFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).steps).toBe(3); // it trained the tiny scenario's steps
    const { info } = await readBaseModelInfo(out);
    expect(info.scenario['pretrain']).toMatchObject({
      traceOperands: 'reads',
      formats: { drillSteps: 2, copyReads: 1 },
    });
    expect(info.scenario['model']).toMatchObject({ outputHead: 'untied' });
    const { model } = await loadBaseModel(out);
    expect(model.params.at(-1)!.spec.name).toBe('wout'); // the untied head's own matrix
    model.dispose();
  });

  it('continues from a base (pretrain.init): it starts at the base’s end probe, records it, and refuses another model or no base', async () => {
    const base = path.join(dir, 'init-base');
    const built = await cli([scenarioFile, '--out', base, '--probe', probeFile]);
    expect(built.code, built.stderr).toBe(0);
    const baseLine = JSON.parse(built.stdout.trim().split('\n').at(-1)!);
    const out = path.join(dir, 'continued');
    const r = await cli([scenarioFile, '--out', out, '--set', `pretrain.init=${base}`, '--probe', probeFile]);
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(line.probeStart).toBe(baseLine.probeEnd); // the same weights, probed again
    const { info } = await readBaseModelInfo(out);
    expect(info.scenario['pretrain']).toMatchObject({ init: base });
    // it trained from there: three more steps moved the weights
    const [before, after] = await Promise.all([base, out].map((d) => readFile(path.join(d, 'weights.f32'))));
    expect(after!.equals(before!)).toBe(false);
    const wider = await cli([
      scenarioFile,
      '--out',
      path.join(dir, 'wider'),
      '--set',
      `pretrain.init=${base}`,
      '--set',
      'model.width=32',
      '--probe',
      probeFile,
    ]);
    expect(wider.code).toBe(2);
    expect(wider.stderr).toMatch(
      /pretrain\.init: the base in .* has the model .*"width":16.* not the scenario's .*"width":32/,
    );
    const none = await cli([
      scenarioFile,
      '--out',
      path.join(dir, 'none'),
      '--set',
      `pretrain.init=${path.join(dir, 'no-such-base')}`,
      '--probe',
      probeFile,
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/pretrain\.init: no base model in .*no-such-base/);
  });

  it('rejects bad input with exit code 2 and a clear message', async () => {
    const out = path.join(dir, 'bad');
    const missing = await cli([path.join(dir, 'nope.yaml'), '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read scenario .*nope\.yaml/);

    const badFile = path.join(dir, 'bad.yaml');
    await writeFile(
      badFile,
      'model: { width: 30, heads: 4 }\npretrain: { lr: -1, formats: { solveDeduction: "x" } }\n',
    );
    const bad = await cli([badFile, '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/pretrain\.lr/);
    expect(bad.stderr).toMatch(/pretrain\.formats\.solveDeduction/);

    const unknown = path.join(dir, 'unknown.yaml');
    await writeFile(unknown, 'pretrain: { stpes: 3 }\n');
    expect((await cli([unknown, '--out', out])).stderr).toMatch(/stpes/);

    const both = await cli([scenarioFile, '--out', out, '--steps', '2', '--minutes', '1']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/alternatives/);
    expect((await cli([scenarioFile, '--out', out, '--steps', '0'])).code).toBe(2);
    expect((await cli([scenarioFile])).code).toBe(2); // --out is required

    const short = path.join(dir, 'short.yaml');
    await writeFile(short, 'model: { layers: 1, width: 16, heads: 2, contextLength: 48 }\n');
    const tooShort = await cli([short, '--out', out, '--steps', '1']);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toMatch(/do not fit a context of 48: raise model\.contextLength/);

    const err = new PassThrough();
    let text = '';
    err.on('data', (d: Buffer) => (text += d.toString()));
    expect(await pretrainCommand({ scenario: path.join(dir, 'nope.yaml'), out, stderr: err })).toBe(2);
    expect(text).toMatch(/^error: cannot read scenario/);
  });
});

describe('the real entry point', () => {
  it('node bin/azr.js pretrain writes the checkpoint and the JSON line; a missing scenario exits 2', async () => {
    const out = path.join(dir, 'cli');
    const ok = await runAzr(['pretrain', scenarioFile, '--out', out, '--steps', '2', '--probe', probeFile]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout.trim())).toMatchObject({ steps: 2 });
    await initBackend({ force: 'wasm' }); // loading the checkpoint here needs a backend even when this test runs alone
    const { model } = await loadBaseModel(out);
    model.dispose();
    const bad = await runAzr(['pretrain', path.join(dir, 'nope.yaml'), '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot read scenario/);
  });
});

describe('the pretrain config', () => {
  it('has defaults for every field and checks values', () => {
    const d = defaultPretrainScenario();
    expect(d.model.contextLength).toBeGreaterThanOrEqual(192);
    expect(d.pretrain.minutes).toBeNull();
    expect(() => parsePretrainScenario({ model: { width: 30, heads: 4 } })).toThrow(/multiple of model.heads/);
    expect(() =>
      parsePretrainScenario({
        pretrain: {
          formats: {
            solveDeduction: 0,
            solveAbduction: 0,
            solveInduction: 0,
            proposeDeduction: 0,
            proposeAbduction: 0,
            proposeInduction: 0,
          },
        },
      }),
    ).toThrow(/at least one format/);
    expect(parsePretrainScenario({ run: { anything: 1 } }).seed).toBe(d.seed); // other sections belong to other commands
  });

  it('scenarios/pretrain.yaml spells out exactly the defaults', async () => {
    const file = await loadPretrainScenario(fileURLToPath(new URL('../../scenarios/pretrain.yaml', import.meta.url)));
    expect(file).toEqual(defaultPretrainScenario());
  });

  it('warms up linearly, then decays by a cosine to minLr', () => {
    const p = parsePretrainScenario({ pretrain: { lr: 1e-2, minLr: 1e-3, warmupSteps: 10 } }).pretrain;
    expect(learningRate(5, 0, p)).toBeCloseTo(5e-3);
    expect(learningRate(11, 0, p)).toBeCloseTo(1e-2);
    expect(learningRate(100, 0.5, p)).toBeCloseTo(5.5e-3);
    expect(learningRate(100, 1, p)).toBeCloseTo(1e-3);
  });
});
