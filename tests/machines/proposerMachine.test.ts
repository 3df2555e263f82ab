import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { Rng } from '../../src/azr/index.js';
import { bufferMachine } from '../../src/machines/bufferMachine.js';
import type { ProposerReply } from '../../src/machines/proposerMachine.js';
import { collector, openChannel, proposerWithEffects, scriptedPolicy } from '../../src/testing.js';

const rngState = new Rng('test').state();

function buffer() {
  return createActor(bufferMachine, {
    input: {
      rngState,
      options: {},
      inductionInputs: 4,
      references: 2,
      referenceWeighting: 'uniform',
      mix: 'maxNew',
      recentWindow: 1,
    },
  }).start();
}

describe('proposerMachine', () => {
  it('asks the Buffer for views, the policy for completions at the training temperature, and parses the proposals', async () => {
    // Arrange
    const policy = scriptedPolicy((req) => {
      if (req.id.endsWith('/0')) return ['function f(n) { return n * 2; }', '4'];
      if (req.id.endsWith('/1')) return ['function f(n) { return n *; }', '4'];
      return { error: 'out of memory' };
    });
    const channel = openChannel();
    const actor = createActor(proposerWithEffects(policy, channel), {
      input: { rngState, temperature: 0.9, retries: 0, buffer: buffer() },
    }).start();
    const inbox = collector();

    // Act
    actor.send({
      type: 'propose',
      taskType: 'deduction',
      count: 3,
      step: 1,
      purpose: 'train',
      reserve: true,
      key: '1/propose/deduction',
      replyTo: inbox.ref,
    });
    const reply = await inbox.next<Extract<ProposerReply, { ok: true }>>('proposer.proposed');

    // Assert
    expect(policy.calls).toHaveLength(1);
    expect(policy.calls[0]).toMatchObject({ temperature: 0.9, purpose: 'train', step: 1 });
    expect(policy.calls[0]!.requests.map((r) => [r.id, r.role, r.view.type])).toEqual([
      ['1/propose/deduction/0', 'propose', 'deduction'],
      ['1/propose/deduction/1', 'propose', 'deduction'],
      ['1/propose/deduction/2', 'propose', 'deduction'],
    ]);
    const [ok, format, failed] = reply.proposals;
    expect(ok!.parsed).toEqual({ ok: true, program: 'function f(n) { return n * 2; }', inputs: ['4'] });
    expect(format!.parsed).toMatchObject({ ok: false, error: 'format' });
    expect(failed!.parsed).toMatchObject({ ok: false, error: 'policy', message: 'out of memory' });
    expect(failed!.completion).toBeNull();
    expect(reply.proposals.every((p) => p.slot !== undefined)).toBe(true);
  });

  it('reserves no room on the learner’s channel for proposals nobody trains on (seeding)', async () => {
    const channel = openChannel();
    let reserved = 0;
    const counting = { ...channel, reserve: () => (reserved++, channel.reserve()) };
    const policy = scriptedPolicy(() => ['function f(n) { return n; }', '1']);
    const actor = createActor(proposerWithEffects(policy, counting), {
      input: { rngState, temperature: 1, retries: 0, buffer: buffer() },
    }).start();
    const inbox = collector();
    actor.send({
      type: 'propose',
      taskType: 'abduction',
      count: 2,
      step: 0,
      purpose: 'seed',
      reserve: false,
      key: 'seed1',
      replyTo: inbox.ref,
    });
    await inbox.next('proposer.proposed');
    expect(reserved).toBe(0);
  });

  it('retries a failed policy batch, then replies with a batch failure and gives the slots back', async () => {
    let calls = 0;
    const policy = {
      generate: async () => {
        calls++;
        throw new Error('device lost');
      },
    };
    const channel = openChannel();
    const actor = createActor(proposerWithEffects(policy, channel), {
      input: { rngState, temperature: 1, retries: 2, buffer: buffer() },
    }).start();
    const inbox = collector();
    actor.send({
      type: 'propose',
      taskType: 'induction',
      count: 2,
      step: 1,
      purpose: 'train',
      reserve: true,
      key: 'k',
      replyTo: inbox.ref,
    });
    const reply = await inbox.next<ProposerReply>('proposer.proposed');
    expect(calls).toBe(3);
    expect(reply).toMatchObject({ ok: false, attempts: 3, error: 'policy: device lost' });
    expect(channel.released).toBe(2);
    expect(actor.getSnapshot().value).toBe('idle');
  });

  it('reads an induction proposal as N argument lists and a message for the view’s program', async () => {
    const policy = scriptedPolicy(() => '1; 2; 3; 4 // add');
    const actor = createActor(proposerWithEffects(policy, openChannel()), {
      input: { rngState, temperature: 1, retries: 0, buffer: buffer() },
    }).start();
    const inbox = collector();
    actor.send({
      type: 'propose',
      taskType: 'induction',
      count: 1,
      step: 1,
      purpose: 'train',
      reserve: false,
      key: 'i',
      replyTo: inbox.ref,
    });
    const reply = await inbox.next<Extract<ProposerReply, { ok: true }>>('proposer.proposed');
    expect(reply.proposals[0]!.parsed).toEqual({
      ok: true,
      program: 'function f(a) { return a; }',
      inputs: ['1', '2', '3', '4'],
      message: 'add',
    });
  });
});
