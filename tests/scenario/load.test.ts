// Scenario loading: defaults, precise errors (file:line:col + field path), unknown keys, --set overrides, the committed scenarios.

import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { resolveConfig } from '../../src/machines/config.js';
import { loadRunScenario, parseOverride, parseRunScenario, parseRunScenarioText, ScenarioLoadError, scenarioYaml } from '../../src/scenario/load.js';
import { coordinatorConfigOf, runScenarioJsonSchema } from '../../src/scenario/schema.js';

function loadError(text: string, overrides: string[] = []): ScenarioLoadError {
  try {
    parseRunScenarioText(text, 'bad.yaml', overrides.map(parseOverride));
  } catch (e) {
    if (e instanceof ScenarioLoadError) return e;
    throw e;
  }
  throw new Error('the scenario was accepted');
}

describe('run scenario schema', () => {
  it('fills every default from an empty scenario, and the coordinator accepts the result', () => {
    const s = parseRunScenario({});
    expect(s.selfPlay.mode).toBe('sync');
    expect(s.learner.klCoef).toBe(0);
    const c = resolveConfig(coordinatorConfigOf(s));
    expect(c.batch.solve.deduction).toBe(8);
    expect(c.taskTypes).toEqual(['deduction', 'abduction', 'induction']);
  });

  it('maps a per-type batch onto the coordinator’s batch', () => {
    const s = parseRunScenario({ selfPlay: { batch: { propose: 3, solve: { deduction: 5, abduction: 6, induction: 7 } } } });
    expect(coordinatorConfigOf(s).batch).toEqual({ propose: { deduction: 3, abduction: 3, induction: 3 }, solve: { deduction: 5, abduction: 6, induction: 7 } });
  });

  it('describes every field in its JSON Schema', () => {
    const schema = JSON.stringify(runScenarioJsonSchema());
    expect(schema).toContain('KL(π ‖ base)');
    expect(schema).toContain('learnabilitySamples');
  });
});

describe('scenario errors', () => {
  it('names an unknown key with its line and column', () => {
    const e = loadError('name: x\nselfPlay:\n  steps: 3\n  stepz: 4\n');
    expect(e.paths).toEqual(['selfPlay.stepz']);
    expect(e.message).toContain('bad.yaml:4:3: selfPlay.stepz: unknown field');
  });

  it('names a bad value with its field path and position', () => {
    const e = loadError('selfPlay:\n  batch:\n    solve: 0\n');
    expect(e.paths).toEqual(['selfPlay.batch.solve']);
    expect(e.message).toMatch(/bad\.yaml:3:12: selfPlay\.batch\.solve: /);
  });

  it('reports YAML syntax errors with their position', () => {
    const e = loadError('selfPlay:\n  batch: [1, 2\n');
    expect(e.message).toMatch(/bad\.yaml is not valid YAML:\n {2}bad\.yaml:\d+:\d+: /);
  });

  it('rejects async mode and says it is not built', () => {
    expect(loadError('selfPlay: { mode: async }').message).toContain("selfPlay.mode: 'async' is not implemented yet");
  });

  it('blames a bad --set by its flag', () => {
    const e = loadError('seed: 1\n', ['learner.lr=-1']);
    expect(e.message).toContain('--set learner.lr: ');
    expect(loadError('seed: 1\n', ['selfPlay.stepz=3']).message).toContain('--set selfPlay.stepz: unknown field');
  });
});

describe('--set overrides', () => {
  it('reads the value as YAML and sets the dotted path', () => {
    const s = parseRunScenarioText('selfPlay: { steps: 3 }\n', 'x.yaml', ['selfPlay.steps=9', 'selfPlay.taskTypes=[deduction]', 'learner.ppoClip=null'].map(parseOverride));
    expect(s.selfPlay.steps).toBe(9);
    expect(s.selfPlay.taskTypes).toEqual(['deduction']);
    expect(s.learner.ppoClip).toBeNull();
  });

  it('rejects a malformed override', () => {
    expect(() => parseOverride('selfPlay.steps')).toThrow(/expected key.path=value/);
    expect(() => parseOverride('self play=1')).toThrow(/not a dotted field path/);
  });
});

describe('committed scenarios', () => {
  it.each(['scenarios/tiny.yaml', 'scenarios/default.yaml'])('%s is valid and round-trips through scenario.yaml', async (file) => {
    const s = await loadRunScenario(file);
    expect(parseRunScenarioText(scenarioYaml(s), 'scenario.yaml')).toEqual(s);
    expect(() => resolveConfig(coordinatorConfigOf(s))).not.toThrow();
    expect(await readFile(file, 'utf8')).toMatch(/^# /); // each says what it is for
  });
});
