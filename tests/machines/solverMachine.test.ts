import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { Rng, type SolverView } from '../../src/azr/index.js';
import type { SolverReply } from '../../src/machines/solverMachine.js';
import { collector, openChannel, scriptedPolicy, solverWithEffects } from '../../src/testing.js';

const rngState = new Rng('test').state();

describe('solverMachine', () => {
  const view: SolverView = { type: 'deduction', program: 'function f(n) { return n + 1; }', input: '2' };

  it('samples n answers per item for a learnability estimate, at the training temperature, without reserving room', async () => {
    const channel = openChannel();
    let reserved = 0;
    const counting = { ...channel, reserve: () => (reserved++, channel.reserve()) };
    const policy = scriptedPolicy((req) => (req.id.endsWith('/2') ? 'nope nope' : '3'));
    const actor = createActor(solverWithEffects(policy, counting), {
      input: { rngState, temperature: 1, retries: 0 },
    }).start();
    const inbox = collector();
    actor.send({
      type: 'solve',
      items: [{ id: 'p0#mc', type: 'deduction', view }],
      samples: 4,
      purpose: 'learnability',
      reserve: false,
      step: 1,
      key: '1/mc/deduction',
      replyTo: inbox.ref,
    });
    const reply = await inbox.next<Extract<SolverReply, { ok: true }>>('solver.solved');
    expect(reply.answers.map((a) => a.id)).toEqual(['p0#mc/0', 'p0#mc/1', 'p0#mc/2', 'p0#mc/3']);
    expect(reply.answers.map((a) => a.parsed.ok)).toEqual([true, true, false, true]);
    expect(policy.calls[0]).toMatchObject({ purpose: 'learnability', temperature: 1 });
    expect(reserved).toBe(0);
  });

  it('reserves one slot per training answer before asking the policy', async () => {
    const channel = openChannel();
    const order: string[] = [];
    const tracked = { ...channel, reserve: () => (order.push('reserve'), channel.reserve()) };
    const policy = scriptedPolicy(() => (order.push('generate'), '3'));
    const actor = createActor(solverWithEffects(policy, tracked), {
      input: { rngState, temperature: 1, retries: 0 },
    }).start();
    const inbox = collector();
    actor.send({
      type: 'solve',
      items: [
        { id: 'a', type: 'deduction', view },
        { id: 'b', type: 'deduction', view },
      ],
      samples: 1,
      purpose: 'train',
      reserve: true,
      step: 1,
      key: '1/solve/deduction',
      replyTo: inbox.ref,
    });
    const reply = await inbox.next<Extract<SolverReply, { ok: true }>>('solver.solved');
    expect(order).toEqual(['reserve', 'reserve', 'generate', 'generate']);
    expect(reply.answers.map((a) => [a.id, a.parsed])).toEqual([
      ['a', { ok: true, answer: '3' }],
      ['b', { ok: true, answer: '3' }],
    ]);
  });
});
