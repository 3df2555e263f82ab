import { describe, expect, it } from 'vitest';
import { PAPER_DEFAULTS, TASK_TYPES } from '../../src/azr/index.js';
import { ConfigError, DEFAULT_CONFIG, resolveConfig, rolloutsPerStep } from '../../src/machines/config.js';

describe('CoordinatorConfig', () => {
  it('defaults to the paper: sync, three types, 64 per group, K = 6, N = 10, n = 8, temperature 1, TRR++', () => {
    const c = resolveConfig();
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.mode).toBe('sync');
    expect(c.taskTypes).toEqual(TASK_TYPES);
    expect(c.batch.propose.deduction).toBe(PAPER_DEFAULTS.batchPerGroup);
    expect([c.references, c.inductionInputs, c.learnabilitySamples, c.temperature]).toEqual([6, 10, 8, 1]);
    expect(c.advantage).toEqual({ statistics: 'perSequence', baseline: 'roleType' });
    expect(c.unlearnable).toBe('zero');
    expect(rolloutsPerStep(c)).toBe(384);
  });

  it('merges partial nested options over the defaults', () => {
    const c = resolveConfig({ batch: { solve: { induction: 3 } }, buffer: { dedup: true } });
    expect(c.batch.solve).toEqual({ deduction: 64, abduction: 64, induction: 3 });
    expect(c.buffer).toMatchObject({ dedup: true, cap: PAPER_DEFAULTS.bufferCap, mix: 'maxNew' });
  });

  it('counts only the solver’s rollouts per step when the proposer is not trained', () => {
    expect(rolloutsPerStep(resolveConfig({ trainProposer: false, taskTypes: ['deduction'] }))).toBe(64);
  });

  it('accepts async mode, and checks the anti-degeneracy options', () => {
    expect(resolveConfig({ mode: 'async', maxStaleness: 1 })).toMatchObject({ mode: 'async', maxStaleness: 1 });
    expect(() => resolveConfig({ mode: 'eager' as never })).toThrow(/mode must be/);
    expect(resolveConfig({}).buffer.maxProgramShare).toBeNull();
    expect(resolveConfig({}).novelty).toEqual({ coef: 0, window: 1 });
    expect(() => resolveConfig({ buffer: { maxProgramShare: 0 } })).toThrow(/maxProgramShare/);
    expect(() => resolveConfig({ novelty: { coef: -1 } })).toThrow(/novelty.coef/);
    expect(() => resolveConfig({ novelty: { window: 0 } })).toThrow(/novelty.window/);
  });

  it('accepts K = 0 references (the paper’s "w/o references" ablation), not fewer', () => {
    expect(resolveConfig({ references: 0 }).references).toBe(0);
    expect(() => resolveConfig({ references: -1 })).toThrow(/references must be an integer ≥ 0/);
    expect(() => resolveConfig({ references: 1.5 })).toThrow(/references/);
  });

  it('names the field of a bad value', () => {
    expect(() => resolveConfig({ learnabilitySamples: 0 })).toThrow(ConfigError);
    expect(() => resolveConfig({ temperature: 0 })).toThrow(/temperature/);
    expect(() => resolveConfig({ taskTypes: [] })).toThrow(/taskTypes/);
    expect(() => resolveConfig({ taskTypes: ['deduction', 'deduction'] })).toThrow(
      /taskTypes: a task type is listed twice/,
    );
    expect(() => resolveConfig({ stepz: 1 } as never)).toThrow(/stepz: unknown field/);
  });

  it('is the scenario’s selfPlay schema: its rules apply to the machines too (one declaration)', () => {
    expect(() => resolveConfig({ inductionInputs: 17 })).toThrow(/inductionInputs must be an integer ≤ 16, got 17/);
    expect(() => resolveConfig({ solveSamples: 17 })).toThrow(/solveSamples must be an integer ≤ 16/);
    expect(resolveConfig({ batch: { propose: 3 } }).batch.propose).toEqual({
      deduction: 3,
      abduction: 3,
      induction: 3,
    });
  });
});
