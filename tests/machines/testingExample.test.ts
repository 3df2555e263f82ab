// The example of README.md § "Testing actor behaviours", kept runnable here (keep both in sync).
import { describe, expect, it } from 'vitest';
import { scriptedPolicy, testCoordinator } from '../../src/testing.js'; // in your project: from 'azr/testing'

describe('a proposer whose tasks are always solved', () => {
  it('earns nothing: learnability is 0 when the solver never fails', async () => {
    // Arrange: the policy always proposes f(n) = n + 1 on 2, and always answers 3.
    const policy = scriptedPolicy((request) =>
      request.role === 'propose' ? ['function f(n) { return n + 1; }', '2'] : '3',
    );
    const run = testCoordinator({
      config: {
        seed: 1,
        steps: 2,
        taskTypes: ['deduction'],
        batch: { propose: { deduction: 4 }, solve: { deduction: 4 } },
        learnabilitySamples: 4,
        seedSize: 2,
      },
      policy,
    });

    // Act
    const result = await run.run();

    // Assert
    expect(result).toEqual({ reason: 'completed', steps: 2 });
    const proposals = run.eventsOf('proposal.validated').filter((e) => e.step > 0);
    expect(proposals.every((e) => e.valid && e.mcSuccesses.every((s) => s === 1) && e.learnability === 0)).toBe(true);
    const proposerRewards = run
      .eventsOf('rollout.scored')
      .filter((e) => e.role === 'propose')
      .map((e) => e.reward);
    expect(new Set(proposerRewards)).toEqual(new Set([0]));
    expect(run.learner.batches).toHaveLength(2); // one optimizer step per training step
  });
});
