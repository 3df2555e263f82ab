import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { TASK_TYPES, type Role, type TaskType } from '../../src/azr/index.js';
import type { ScoredRollout } from '../../src/machines/effects.js';
import type { LearnerInput, LearnerReply } from '../../src/machines/learnerMachine.js';
import { CreditChannel } from '../../src/streams/creditChannel.js';
import {
  collector,
  fakeLearner,
  fromCreditChannel,
  learnerWithEffects,
  settle,
  SimulatedClock,
} from '../../src/testing.js';

const input: LearnerInput = {
  policyVersion: 0,
  credit: 12,
  taskTypes: TASK_TYPES,
  trainProposer: true,
  advantage: { statistics: 'perSequence', baseline: 'roleType' },
  maxStaleness: 0,
  retries: 0,
};

const rollout = (id: number, role: Role, type: TaskType, reward: number, policyVersion = 0): ScoredRollout => ({
  id: `r${id}`,
  role,
  type,
  reward,
  tokens: 3,
  policyVersion,
  step: 1,
});

/** Twelve rollouts: two per (role × type) group, rewards varying in all groups but one. */
function stepRollouts(policyVersion = 0): ScoredRollout[] {
  const out: ScoredRollout[] = [];
  let id = 0;
  for (const role of ['propose', 'solve'] as const)
    for (const type of TASK_TYPES) {
      const constant = role === 'solve' && type === 'induction';
      out.push(
        rollout(id++, role, type, constant ? -1 : 1, policyVersion),
        rollout(id++, role, type, constant ? -1 : -0.5, policyVersion),
      );
    }
  return out;
}

function setup(
  options: {
    learner?: ReturnType<typeof fakeLearner>;
    capacity?: number;
    extra?: Partial<LearnerInput>;
    clock?: SimulatedClock;
  } = {},
) {
  const clock = options.clock ?? new SimulatedClock();
  const channel = new CreditChannel<ScoredRollout>({
    name: 'scored→learner',
    capacity: options.capacity ?? 0,
    clock: () => clock.now(),
  });
  const learner = options.learner ?? fakeLearner();
  const actor = createActor(learnerWithEffects(learner, fromCreditChannel(channel)), {
    input: { ...input, ...options.extra },
    clock,
  }).start();
  return { actor, channel, learner, clock, inbox: collector() };
}

async function produce(channel: CreditChannel<ScoredRollout>, rollouts: readonly ScoredRollout[]) {
  for (const r of rollouts) (await channel.reserve()).push(r);
}

describe('learnerMachine', () => {
  it('grants credit for one step’s rollouts as soon as it starts', () => {
    const { channel } = setup();
    expect(channel.status()).toMatchObject({ credit: 12, depth: 0 });
  });

  it('normalises each (role × type) group separately (TRR++) and learns once with all six batches', async () => {
    // Arrange
    const { actor, channel, learner, inbox } = setup();
    await produce(channel, stepRollouts());

    // Act
    actor.send({ type: 'endStep', step: 1, expected: 12, replyTo: inbox.ref });
    const adv = await inbox.next<Extract<LearnerReply, { type: 'learner.advantages' }>>('learner.advantages');
    actor.send({ type: 'learn', replyTo: inbox.ref });
    const learned = await inbox.next<Extract<LearnerReply, { type: 'learner.learned'; ok: true }>>('learner.learned');

    // Assert
    expect(adv.groups).toHaveLength(6);
    for (const g of adv.groups) {
      const members = adv.samples.filter((s) => `${s.role}/${s.type}` === g.key);
      expect(members.reduce((a, s) => a + s.advantage, 0)).toBeCloseTo(0, 12);
      expect(g.zero).toBe(g.key === 'solve/induction');
    }
    expect(adv.samples.find((s) => s.id === 'r0')!.advantage).toBeCloseTo(1 / Math.SQRT2, 6);
    expect(learner.batches).toHaveLength(1);
    expect(learner.batches[0]!.batches.map((b) => [`${b.role}/${b.type}`, b.samples.length])).toEqual([
      ['propose/deduction', 2],
      ['propose/abduction', 2],
      ['propose/induction', 2],
      ['solve/deduction', 2],
      ['solve/abduction', 2],
      ['solve/induction', 2],
    ]);
    expect(learned.result.policyVersion).toBe(1);
    expect(learner.published).toEqual([1]);
    expect(actor.getSnapshot().context.policyVersion).toBe(1);
  });

  it('waits for every pushed rollout before computing advantages', async () => {
    const { actor, channel, inbox } = setup();
    const rollouts = stepRollouts();
    await produce(channel, rollouts.slice(0, 6));
    actor.send({ type: 'endStep', step: 1, expected: 12, replyTo: inbox.ref });
    await settle();
    expect(actor.getSnapshot().value).toBe('awaitingRollouts');
    await produce(channel, rollouts.slice(6));
    const adv = await inbox.next<Extract<LearnerReply, { type: 'learner.advantages' }>>('learner.advantages');
    expect(adv.samples).toHaveLength(12);
  });

  it('backpressure: a producer that runs ahead waits for credit until the slow learner has learned', async () => {
    // Arrange: credit for one step (12), room for 2 more; the learner takes 1000 ms (simulated) per step.
    const clock = new SimulatedClock();
    const { actor, channel, inbox } = setup({ learner: fakeLearner({ delayMs: 1000, clock }), capacity: 2, clock });
    let produced = 0;
    let maxHeld = 0;
    channel.status$.subscribe((s) => void (maxHeld = Math.max(maxHeld, s.depth)));
    const producer = (async () => {
      for (let i = 0; i < 24; i++) {
        const slot = await channel.reserve();
        produced++;
        slot.push(stepRollouts()[i % 12]!);
      }
    })();

    // Act: the first step's rollouts arrive; the producer is 2 ahead, then stalls.
    await settle();
    const beforeLearning = produced;
    actor.send({ type: 'endStep', step: 1, expected: 12, replyTo: inbox.ref });
    await inbox.next('learner.advantages');
    actor.send({ type: 'learn', replyTo: inbox.ref });
    await settle();
    const duringLearning = produced;
    clock.increment(1000);
    await inbox.next('learner.learned');
    await producer;

    // Assert
    expect(beforeLearning).toBe(14);
    expect(duringLearning).toBe(14);
    expect(produced).toBe(24);
    expect(maxHeld).toBeLessThanOrEqual(2);
    expect(channel.status().stallMs).toBeGreaterThanOrEqual(1000);
  });

  it('drops rollouts older than maxStaleness policy versions instead of learning from them', async () => {
    const { actor, channel, inbox } = setup({ extra: { policyVersion: 5, maxStaleness: 1 } });
    const rollouts = stepRollouts(5).map((r, i) => (i < 2 ? { ...r, policyVersion: 3 } : r));
    await produce(channel, rollouts);
    actor.send({ type: 'endStep', step: 1, expected: 12, replyTo: inbox.ref });
    const adv = await inbox.next<Extract<LearnerReply, { type: 'learner.advantages' }>>('learner.advantages');
    expect(adv.dropped.map((d) => [d.rollout.id, d.reason])).toEqual([
      ['r0', 'stale'],
      ['r1', 'stale'],
    ]);
    expect(adv.samples).toHaveLength(10);
  });

  it('retries a failed learn call, then replies with a failure and tops its credit up for the next step', async () => {
    const learner = fakeLearner({ fail: () => true });
    const { actor, channel, inbox } = setup({ learner, extra: { retries: 1 } });
    await produce(channel, stepRollouts());
    actor.send({ type: 'endStep', step: 1, expected: 12, replyTo: inbox.ref });
    await inbox.next('learner.advantages');
    actor.send({ type: 'learn', replyTo: inbox.ref });
    expect(await inbox.next('learner.learned')).toMatchObject({ ok: false, attempts: 2 });
    expect(actor.getSnapshot().context.policyVersion).toBe(0);
    expect(channel.status().credit).toBe(12);
  });
});

describe('learnerMachine in async mode (creditOnBatch)', () => {
  it('grants the next step’s credit when it takes a batch, and keeps an endStep that arrives mid-update for after it', async () => {
    // Arrange: a slow learner (500 ms simulated) that grants credit on taking the batch.
    const clock = new SimulatedClock();
    const learner = fakeLearner({ delayMs: 500, clock });
    const { actor, channel, inbox } = setup({ learner, clock, extra: { creditOnBatch: true, maxStaleness: 0 } });
    await produce(channel, stepRollouts(0));

    // Act: step 1's batch is taken and its update starts…
    actor.send({ type: 'endStep', step: 1, expected: 12, replyTo: inbox.ref });
    await inbox.next('learner.advantages');
    actor.send({ type: 'learn', replyTo: inbox.ref });
    await settle();

    // Assert: …and producers may already make step 2 (credit is back to one step's worth) while it learns.
    expect(actor.getSnapshot().value).toBe('learning');
    expect(channel.status().credit).toBe(12);
    await produce(channel, stepRollouts(0)); // made with version 0 while version 1 is being learned
    actor.send({ type: 'endStep', step: 2, expected: 12, replyTo: inbox.ref });
    await settle();
    expect(inbox.received.some((e) => e.type === 'learner.advantages')).toBe(false); // waits for the update
    clock.increment(500);
    const learned = await inbox.next<Extract<LearnerReply, { type: 'learner.learned'; ok: true }>>('learner.learned');
    expect(learned.result.policyVersion).toBe(1);
    // Step 2's batch is formed at version 1: its version-0 rollouts are beyond maxStaleness 0.
    const adv = await inbox.next<Extract<LearnerReply, { type: 'learner.advantages' }>>('learner.advantages');
    expect(adv).toMatchObject({ step: 2, policyVersion: 1, samples: [] });
    expect(adv.dropped).toHaveLength(12);
    expect(adv.dropped.every((d) => d.reason === 'stale')).toBe(true);
    // Nothing left to learn from: no optimizer step, a reply that says so (attempts 0).
    actor.send({ type: 'learn', replyTo: inbox.ref });
    const skipped = await inbox.next<Extract<LearnerReply, { type: 'learner.learned'; ok: false }>>('learner.learned');
    expect(skipped).toMatchObject({ ok: false, attempts: 0 });
    expect(learner.batches).toHaveLength(1);
  });
});
