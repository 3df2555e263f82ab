// K = 0 references (the paper's "w/o references" ablation): proposer prompts carry no reference triplets, while the
// buffers are still seeded, filled and drawn from by the solver, and the induction proposer still gets its program.

import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { Rng, type ProposerView } from '../../src/azr/index.js';
import { bufferMachine, type BufferReply } from '../../src/machines/bufferMachine.js';
import { collector, scriptedPolicy, testCoordinator } from '../../src/testing.js';
import { TOY_CONFIG, toyScript } from './toyScript.js';

describe('K = 0 references', () => {
  it('the Buffer builds deduction/abduction views with no references, and induction views with one program', async () => {
    const actor = createActor(bufferMachine, {
      input: {
        rngState: new Rng('k0').state(),
        options: { cap: 100 },
        inductionInputs: 4,
        references: 0,
        referenceWeighting: 'uniform',
        mix: 'maxNew',
        recentWindow: 1,
      },
    }).start();
    const inbox = collector();
    for (const taskType of ['deduction', 'abduction', 'induction'] as const)
      actor.send({ type: 'views', taskType, count: 3, key: taskType, replyTo: inbox.ref });
    const views: ProposerView[] = [];
    for (let i = 0; i < 3; i++)
      views.push(...(await inbox.next<Extract<BufferReply, { type: 'buffer.views' }>>('buffer.views')).views);
    expect(views).toHaveLength(9);
    for (const v of views) {
      if (v.type === 'induction')
        expect([v.program, v.params, v.inputs]).toEqual(['function f(a) { return a; }', ['a'], 4]);
      else expect(v.references).toEqual([]);
    }
  });

  it('seeds, trains and solves from the buffers with every proposer prompt reference-free', async () => {
    const policy = scriptedPolicy(toyScript);
    const t = testCoordinator({ config: { ...TOY_CONFIG, references: 0 }, policy });
    const out = await t.run();
    expect(out).toEqual({ reason: 'completed', steps: TOY_CONFIG.steps });

    const proposerViews = policy.calls.flatMap((c) =>
      c.requests.flatMap((r) => (r.role === 'propose' ? [r.view] : [])),
    );
    const refViews = proposerViews.flatMap((v) => (v.type === 'induction' ? [] : [v]));
    expect(refViews.length).toBeGreaterThan(0);
    for (const v of refViews) expect(v.references).toEqual([]);
    expect(proposerViews.some((v) => v.type === 'induction')).toBe(true);

    // seeding filled every buffer past the identity seed, training kept appending
    const sizes = t.eventsOf('buffer.sizes');
    const seeded = sizes.find((e) => e.step === 0)!.sizes;
    for (const type of ['deduction', 'abduction', 'induction'] as const) {
      expect(seeded[type]).toBeGreaterThanOrEqual(TOY_CONFIG.seedSize);
      expect(sizes.at(-1)!.sizes[type]).toBeGreaterThan(seeded[type]);
    }
    // the solver is trained on buffer tasks, and every step learns from both roles
    const scored = t.eventsOf('rollout.scored');
    for (const step of [1, 2, 3]) {
      const roles = new Set(scored.filter((e) => e.step === step).map((e) => e.role));
      expect([...roles].sort()).toEqual(['propose', 'solve']);
    }
    expect(t.learner.batches).toHaveLength(TOY_CONFIG.steps);
    expect(t.eventsOf('proposal.validated').filter((e) => e.step > 0 && e.valid).length).toBeGreaterThan(0);
  });
});
