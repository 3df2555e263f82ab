// The control arms' proposer (policy.proposer: generator) and buffer admission (selfPlay.buffer.admit), through the coordinator.

import { beforeAll, describe, expect, it } from 'vitest';
import { GeneratorProposer } from '../../src/services/generatorProposer.js';
import { ProbeExclusion } from '../../src/pretrain/pretrainData.js';
import { loadProbeTasks } from '../../src/pretrain/probeEval.js';
import { inProcessExecutor, scriptedPolicy, testCoordinator } from '../../src/testing.js';
import { TOY_CONFIG, toyScript } from '../machines/toyScript.js';

let exclusion: ProbeExclusion;
beforeAll(async () => {
  exclusion = new ProbeExclusion(await loadProbeTasks());
});

describe('policy.proposer: generator', () => {
  it('proposes generator tasks (never a probe program) that the model solves; nothing of the proposer is trained', async () => {
    // Arrange: the model is the toy script; the proposer is the generator
    const model = scriptedPolicy(toyScript);
    const t = testCoordinator({
      config: { ...TOY_CONFIG, trainProposer: false },
      policy: new GeneratorProposer(model, { exclusion, version: () => 0 }),
      executor: inProcessExecutor,
    });
    // Act
    const out = await t.run();
    // Assert
    expect(out.reason).toBe('completed');
    const proposals = t.eventsOf('proposal.validated');
    expect(proposals.length).toBeGreaterThan(20);
    expect(proposals.filter((p) => p.valid).length / proposals.length).toBeGreaterThan(0.5);
    expect(proposals.some((p) => exclusion.excludes(p.program))).toBe(false);
    // the toy script writes `n + k`-style programs; the generator's are other programs
    expect(new Set(proposals.map((p) => p.program)).size).toBeGreaterThan(proposals.length / 2);
    // only the model's solver answers reached the model; only solver rollouts were scored for the learner
    expect(model.calls.length).toBeGreaterThan(0);
    expect(t.eventsOf('rollout.scored').every((e) => e.role === 'solve')).toBe(true);
    expect(t.learner.batches.flatMap((b) => b.batches).every((g) => g.role === 'solve' || g.samples.length === 0)).toBe(
      true,
    );
  });

  it('draws the same proposals for the same seed', async () => {
    const run = async () => {
      const t = testCoordinator({
        config: { ...TOY_CONFIG, trainProposer: false },
        policy: new GeneratorProposer(scriptedPolicy(toyScript), { exclusion, version: () => 0 }),
        executor: inProcessExecutor,
      });
      await t.run();
      return t.eventsOf('proposal.validated').map((p) => p.program);
    };
    expect(await run()).toEqual(await run());
  });
});

describe('selfPlay.buffer.admit', () => {
  it("'learnable' buffers only the training step's proposals with 0 < p̂ < 1; 'valid' (the paper) every valid one", async () => {
    const run = async (admit: 'valid' | 'learnable') => {
      const t = testCoordinator({
        config: { ...TOY_CONFIG, buffer: { admit } },
        policy: scriptedPolicy(toyScript),
        executor: inProcessExecutor,
      });
      await t.run();
      return t;
    };
    for (const admit of ['valid', 'learnable'] as const) {
      const t = await run(admit);
      const sizes = t.eventsOf('buffer.sizes');
      for (let step = 1; step <= TOY_CONFIG.steps; step++) {
        const before = sizes.filter((e) => e.step < step).at(-1)!.sizes;
        const after = sizes.filter((e) => e.step === step).at(-1)!.sizes;
        const proposals = t.eventsOf('proposal.validated').filter((p) => p.step === step && p.valid);
        const admitted = (type: string) =>
          proposals.filter((p) => {
            if (p.task !== type) return false;
            if (admit === 'valid') return true;
            const mean = p.mcSuccesses.reduce((a: number, b) => a + b, 0) / Math.max(1, p.mcSuccesses.length);
            return p.mcSuccesses.length > 0 && mean > 0 && mean < 1;
          }).length;
        for (const type of ['deduction', 'abduction', 'induction'] as const)
          expect(after[type] - before[type], `${admit} ${type} step ${step}`).toBe(admitted(type));
      }
      // the filter had something to refuse: some valid training proposals were trivial or impossible for the solver
      if (admit === 'learnable') {
        const valid = t.eventsOf('proposal.validated').filter((p) => p.step >= 1 && p.valid);
        expect(valid.some((p) => p.learnability === 0)).toBe(true);
      }
    }
  });
});
