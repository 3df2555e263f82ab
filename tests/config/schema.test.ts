// Schema round-trips: every shipped scenario and sweep validates, and the published JSON Schemas are current and stable.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/machines/config.js';
import {
  loadPretrainScenario,
  loadRunScenario,
  parseRunScenario,
  parseRunScenarioText,
  scenarioYaml,
} from '../../src/config/load.js';
import { coordinatorConfigOf } from '../../src/config/schema.js';
import { fileJsonSchemaText, SCHEMA_FILES } from '../../src/cli/commands/schema.js';
import { loadSweep } from '../../src/ablate/sweep.js';
import { ROOT, runAzr } from '../azrProcess.js';

const yamlIn = (dir: string) =>
  readdirSync(`${ROOT}${dir}`)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `${dir}/${f}`);

describe('shipped files', () => {
  it.each(yamlIn('scenarios'))('%s is a valid run scenario that round-trips through scenario.yaml', async (file) => {
    const s = await loadRunScenario(`${ROOT}${file}`);
    expect(parseRunScenarioText(scenarioYaml(s), 'scenario.yaml')).toEqual(s);
    expect(() => resolveConfig(coordinatorConfigOf(s))).not.toThrow();
  });

  it.each(yamlIn('scenarios/ablations'))(
    '%s is a valid sweep whose every variant resolves and runs on the coordinator',
    (file) => {
      const sweep = loadSweep(`${ROOT}${file}`);
      expect(sweep.variants.length).toBeGreaterThan(0);
      for (const v of sweep.variants) {
        expect(v.scenario.name).toBe(v.name);
        expect(() => resolveConfig(coordinatorConfigOf(v.scenario))).not.toThrow();
      }
    },
  );

  it('the paper sweep holds the arms of the paper’s table and the two controls', async () => {
    const sweep = loadSweep(`${ROOT}scenarios/ablations/paper.yaml`);
    const by = Object.fromEntries(sweep.variants.map((v) => [v.name, v.scenario]));
    expect(by['no-induction']!.selfPlay.taskTypes).toEqual(['deduction', 'abduction']);
    expect(by['proposer-frozen']!.selfPlay.trainProposer).toBe(false);
    expect(by['global-baseline']!.selfPlay.advantage.baseline).toBe('global');
    expect(by['base-model']!.selfPlay.steps).toBe(0);
    // the control builds its own base (the arms start from the shipped one): the shipped base's second stage, from
    // the same first stage, with more supervised steps
    expect(by['full']!.base).toBe('models/default');
    expect(by['sft-control']!.base).toBeNull();
    const { pretrain: secondStage } = await loadPretrainScenario(`${ROOT}scenarios/pretrain-reads.yaml`);
    const { steps, ...recipe } = secondStage;
    const { steps: controlSteps, ...control } = by['sft-control']!.pretrain;
    expect(control).toEqual(recipe);
    expect(controlSteps).toBeGreaterThan(steps);
    expect(by['no-references']!.selfPlay.references).toBe(0);
    expect(by['free-decoding']!.policy.decoding).toBe('free');
    expect(by['full']!.policy.decoding).toBe('constrained');
    expect([by['async']!.selfPlay.mode, by['async']!.selfPlay.maxStaleness]).toEqual(['async', 1]);
    expect([
      by['random-tasks']!.policy.proposer,
      by['random-tasks']!.selfPlay.trainProposer,
      by['random-tasks']!.selfPlay.buffer.admit,
    ]).toEqual(['generator', false, 'valid']);
    expect([by['filter-only']!.policy.proposer, by['filter-only']!.selfPlay.buffer.admit]).toEqual([
      'generator',
      'learnable',
    ]);
  });

  it('the curriculum sweep: the default scenario against its three controls (the paper sweep’s), three seeds', async () => {
    const curriculum = loadSweep(`${ROOT}scenarios/ablations/curriculum.yaml`);
    const paper = loadSweep(`${ROOT}scenarios/ablations/paper.yaml`);
    expect(curriculum.seeds).toEqual([1, 2, 3]);
    const by = Object.fromEntries(curriculum.variants.map((v) => [v.name, v.scenario]));
    const paperBy = Object.fromEntries(paper.variants.map((v) => [v.name, v.scenario]));
    expect(Object.keys(by)).toEqual(['self-play', 'random-tasks', 'filter-only', 'sft-control']);
    // the arms run the whole default scenario (the paper sweep shortens it to 12 steps)
    const { name: _n, ...selfPlay } = by['self-play']!;
    const { name: _d, ...defaults } = await loadRunScenario(`${ROOT}scenarios/default.yaml`);
    expect(selfPlay).toEqual(defaults);
    for (const control of ['random-tasks', 'filter-only', 'sft-control']) {
      expect([by[control]!.policy, by[control]!.selfPlay.trainProposer, by[control]!.selfPlay.buffer.admit]).toEqual([
        paperBy[control]!.policy,
        paperBy[control]!.selfPlay.trainProposer,
        paperBy[control]!.selfPlay.buffer.admit,
      ]);
    }
    expect([by['sft-control']!.base, by['sft-control']!.selfPlay.steps, by['sft-control']!.pretrain.steps]).toEqual([
      null,
      0,
      paperBy['sft-control']!.pretrain.steps,
    ]);
  });

  it('refuses a learning-rate decay to zero (the learner takes positive rates only)', () => {
    expect(() => parseRunScenario({ learner: { lrEnd: 0 } })).toThrow(/lrEnd/);
    expect(parseRunScenario({ learner: { lrEnd: 1e-6 } }).learner.lrEnd).toBe(1e-6);
  });

  it('refuses the generator proposer with a trained proposer', () => {
    expect(() => parseRunScenario({ policy: { proposer: 'generator' } })).toThrow(/trainProposer/);
    expect(
      parseRunScenario({ policy: { proposer: 'generator' }, selfPlay: { trainProposer: false } }).policy.proposer,
    ).toBe('generator');
  });
});

describe('JSON Schema', () => {
  it.each(Object.entries(SCHEMA_FILES))('%s: %s is current (regenerate: azr schema KIND --out FILE)', (kind, file) => {
    expect(readFileSync(`${ROOT}${file}`, 'utf8')).toBe(fileJsonSchemaText(kind as keyof typeof SCHEMA_FILES));
  });

  it('is stable: generated twice, the same text; every scenario field is described', () => {
    const text = fileJsonSchemaText('scenario');
    expect(fileJsonSchemaText('scenario')).toBe(text);
    const undescribed: string[] = [];
    const walk = (node: Record<string, unknown>, at: string) => {
      for (const [key, sub] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (typeof sub.description !== 'string') undescribed.push(`${at}${key}`);
        walk(sub, `${at}${key}.`);
      }
    };
    walk(JSON.parse(text) as Record<string, unknown>, '');
    expect(undescribed).toEqual([]);
  });

  it.each([
    [['schema'], 'scenario'],
    [['schema', 'sweep'], 'sweep'],
  ] as const)('azr %j prints the %s schema', async (args, kind) => {
    const r = await runAzr(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(fileJsonSchemaText(kind));
  });

  it('azr schema sweep --out FILE writes the schema there and prints nothing on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'azr-schema-'));
    try {
      const file = join(dir, 'sweep.schema.json');
      const r = await runAzr(['schema', 'sweep', '--out', file]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(readFileSync(file, 'utf8')).toBe(fileJsonSchemaText('sweep'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
