// Scenario loading: defaults, precise errors (file:line:col + field path), unknown keys, --set overrides, the committed scenarios.

import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { resolveConfig } from '../../src/machines/config.js';
import {
  loadRunScenario,
  parseOverride,
  parseRunScenario,
  parseRunScenarioText,
  ScenarioLoadError,
  scenarioYaml,
} from '../../src/config/load.js';
import { coordinatorConfigOf, runScenarioJsonSchema } from '../../src/config/schema.js';

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
    const s = parseRunScenario({
      selfPlay: { batch: { propose: 3, solve: { deduction: 5, abduction: 6, induction: 7 } } },
    });
    expect(resolveConfig(coordinatorConfigOf(s)).batch).toEqual({
      propose: { deduction: 3, abduction: 3, induction: 3 },
      solve: { deduction: 5, abduction: 6, induction: 7 },
    });
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

  it('reports a bad mode with the values it accepts', () => {
    expect(loadError('selfPlay: { mode: asynch }').message).toMatch(
      /bad\.yaml:1:19: selfPlay\.mode: Invalid option: expected one of "sync"\|"async"/,
    );
  });

  it('blames a bad --set by its flag', () => {
    const e = loadError('seed: 1\n', ['learner.lr=-1']);
    expect(e.message).toContain('--set learner.lr: ');
    expect(loadError('seed: 1\n', ['selfPlay.stepz=3']).message).toContain('--set selfPlay.stepz: unknown field');
  });
});

describe('--set overrides', () => {
  it('reads the value as YAML and sets the dotted path', () => {
    const s = parseRunScenarioText(
      'selfPlay: { steps: 3 }\n',
      'x.yaml',
      ['selfPlay.steps=9', 'selfPlay.taskTypes=[deduction]', 'learner.ppoClip=null'].map(parseOverride),
    );
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
  it.each(['scenarios/tiny.yaml', 'scenarios/default.yaml'])(
    '%s is valid and round-trips through scenario.yaml',
    async (file) => {
      const s = await loadRunScenario(file);
      expect(parseRunScenarioText(scenarioYaml(s), 'scenario.yaml')).toEqual(s);
      expect(() => resolveConfig(coordinatorConfigOf(s))).not.toThrow();
      expect(await readFile(file, 'utf8')).toMatch(/^# /); // each says what it is for
    },
  );
});

describe('broken-file catalogue: each gets one error a person can act on (file:line:col, field path, what was expected)', () => {
  it.each([
    ['a typo in a top-level key', 'nmae: x\n', "bad.yaml:1:1: nmae: unknown field (did you mean 'name'?)"],
    [
      'a typo in a nested key',
      'selfPlay:\n  batch:\n    solv: 4\n',
      "bad.yaml:3:5: selfPlay.batch.solv: unknown field (did you mean 'solve'?)",
    ],
    ['a key unlike any field', 'selfPlay:\n  frobnicate: 1\n', 'bad.yaml:2:3: selfPlay.frobnicate: unknown field'],
    [
      'a string where a number goes',
      'selfPlay:\n  steps: ten\n',
      'bad.yaml:2:10: selfPlay.steps: Invalid input: expected number, received string',
    ],
    ['a fraction where an integer goes', 'selfPlay: { references: 1.5 }\n', 'bad.yaml:1:25: selfPlay.references: '],
    ['a negative count', 'selfPlay:\n  steps: -3\n', 'bad.yaml:2:10: selfPlay.steps: Too small'],
    [
      'an unknown enum value',
      'selfPlay:\n  advantage: { baseline: globl }\n',
      'bad.yaml:2:26: selfPlay.advantage.baseline: Invalid option: expected one of',
    ],
    [
      'an unknown task type',
      'selfPlay:\n  taskTypes: [deduction, inducton]\n',
      'bad.yaml:2:26: selfPlay.taskTypes.1: Invalid option',
    ],
    [
      'a task type listed twice',
      'selfPlay:\n  taskTypes: [deduction, deduction]\n',
      'bad.yaml:2:14: selfPlay.taskTypes: a task type is listed twice',
    ],
    ['no task types', 'selfPlay:\n  taskTypes: []\n', 'bad.yaml:2:14: selfPlay.taskTypes: Too small'],
    ['a section given as a scalar', 'learner: 3\n', 'bad.yaml:1:10: learner: Invalid input: expected object'],
    [
      'a per-type batch with a typo',
      'selfPlay:\n  batch:\n    solve: { deduction: 2, abductoin: 2 }\n',
      'selfPlay.batch.solve',
    ],
    [
      'heads that do not divide width',
      'model: { width: 30, heads: 4 }\n',
      'bad.yaml:1:8: model: model.width must be a multiple of model.heads',
    ],
    [
      'rotary positions with an odd head width (the model rule, src/gpu/modelConfig.ts)',
      'model: { width: 12, heads: 4, positions: rope }\n',
      'bad.yaml:1:8: model: rotary positions need an even head width',
    ],
    [
      'ppoEpochs > 1 without a clip',
      'learner:\n  ppoClip: null\n  ppoEpochs: 2\n',
      'bad.yaml:3:14: learner.ppoEpochs: ppoEpochs > 1 needs ppoClip',
    ],
    ['a bad run name', 'name: my run\n', 'bad.yaml:1:7: name: a name is letters, digits, dot, dash and underscore'],
    ['a duplicate key', 'seed: 1\nseed: 2\n', 'bad.yaml is not valid YAML:\n  bad.yaml:2:1: Map keys must be unique'],
    ['bad indentation', 'selfPlay:\n  steps: 3\n   batch: 4\n', 'bad.yaml is not valid YAML:\n  bad.yaml:'],
    ['a list at the top level', '- a\n- b\n', 'bad.yaml must hold a mapping'],
  ])('%s', (_what, text, expected) => {
    expect(loadError(text).message).toContain(expected);
  });

  it('offers no "did you mean" when nothing is close', () => {
    expect(loadError('selfPlay:\n  frobnicate: 1\n').message).not.toContain('did you mean');
  });
});
