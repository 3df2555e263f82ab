import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventOf } from '../../src/streams/events.js';
import type { SolverView } from '../../src/azr/index.js';
import type { CheckpointData, ExecutorEffect } from '../../src/machines/effects.js';
import {
  fakeCheckpointStore,
  fakeLearner,
  inProcessExecutor,
  scriptedExecutor,
  scriptedPolicy,
  SimulatedClock,
  testCoordinator,
} from '../../src/testing.js';
import { TOY_CONFIG, toyScript } from './toyScript.js';

/** The executor of these tests: the in-process one, except that programs adding 3 are "banned" (invalid). */
const executor: ExecutorEffect = scriptedExecutor({
  validate: async (requests) => {
    const results = await inProcessExecutor.validate(requests);
    return results.map((r, i) =>
      requests[i]!.program.includes('+ 3;') ? { id: r.id, ok: false, error: { kind: 'banned', message: 'no threes' } } : r,
    );
  },
});

function run(config: object = {}, extra: Partial<Parameters<typeof testCoordinator>[0]> = {}) {
  return testCoordinator({ config: { ...TOY_CONFIG, ...config }, policy: scriptedPolicy(toyScript), executor, ...extra });
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const withoutT = (events: readonly RunEvent[]) => events.map(({ t: _t, ...rest }) => rest);

describe('coordinatorMachine: one AZR step, end to end (sync mode)', () => {
  it('emits a gap-free seq from 0 and finishes with reason completed after the configured steps', async () => {
    // Arrange
    const t = run();

    // Act
    const out = await t.run();

    // Assert
    expect(out).toEqual({ reason: 'completed', steps: 3 });
    expect(t.events.map((e) => e.seq)).toEqual(t.events.map((_, i) => i));
    expect(t.eventsOf('step.finished').map((e) => e.step)).toEqual([1, 2, 3]);
    expect(t.actor.getSnapshot().value).toBe('finished');
  });

  it('normalises each of the six (role × type) groups separately: mean advantage ≈ 0 wherever rewards vary', async () => {
    const t = run();
    await t.run();
    const scored = t.eventsOf('rollout.scored');
    for (const step of [1, 2, 3]) {
      const groups = new Map<string, RunEventOf<'rollout.scored'>[]>();
      for (const e of scored.filter((x) => x.step === step)) groups.set(`${e.role}/${e.task}`, [...(groups.get(`${e.role}/${e.task}`) ?? []), e]);
      expect([...groups.keys()].sort()).toEqual(
        ['propose/abduction', 'propose/deduction', 'propose/induction', 'solve/abduction', 'solve/deduction', 'solve/induction'],
      );
      for (const g of groups.values()) {
        const rewards = g.map((e) => e.reward);
        if (new Set(rewards).size > 1) expect(Math.abs(mean(g.map((e) => e.advantage)))).toBeLessThan(1e-9);
        else expect(g.every((e) => e.advantage === 0)).toBe(true);
      }
    }
  });

  it('rewards each proposal by the learnability rule applied to its mcSuccesses, and every invalid one with −1', async () => {
    const t = run();
    await t.run();
    const rewards = new Map(t.eventsOf('rollout.scored').filter((e) => e.role === 'propose').map((e) => [e.id, e.reward]));
    const validated = t.eventsOf('proposal.validated').filter((e) => e.step > 0);
    expect(validated.some((e) => !e.valid)).toBe(true);
    for (const e of validated) {
      const reward = rewards.get(e.rolloutId);
      if (!e.valid) {
        expect(reward).toBe(-1);
        continue;
      }
      expect(e.mcSuccesses).toHaveLength(TOY_CONFIG.learnabilitySamples);
      const m = mean(e.mcSuccesses);
      const rule = m > 0 && m < 1 ? 1 - m : 0;
      expect(e.learnability).toBeCloseTo(rule, 12);
      expect(reward).toBeCloseTo(rule, 12);
    }
  });

  it('applies the original code’s −0.5 for unlearnable proposals when asked (unlearnable: minusHalf)', async () => {
    const t = run({ unlearnable: 'minusHalf' });
    await t.run();
    const rewards = new Map(t.eventsOf('rollout.scored').map((e) => [e.id, e.reward]));
    const unlearnable = t.eventsOf('proposal.validated').filter((e) => e.step > 0 && e.valid && e.learnability === 0);
    expect(unlearnable.length).toBeGreaterThan(0);
    for (const e of unlearnable) expect(rewards.get(e.rolloutId)).toBe(-0.5);
  });

  it('never puts an invalid proposal into a buffer', async () => {
    const checkpoints = fakeCheckpointStore();
    const t = run({ checkpointEvery: 1 }, { checkpoint: checkpoints });
    await t.run();
    const invalid = t.eventsOf('proposal.validated').filter((e) => !e.valid);
    expect(invalid.map((e) => e.error)).toEqual(expect.arrayContaining(['format', 'banned']));
    const last = checkpoints.latest()!;
    const buffered = new Set(
      [...last.buffers.deduction.entries, ...last.buffers.abduction.entries, ...last.buffers.induction.entries].map((e) => e.task.program),
    );
    for (const e of invalid) expect(buffered.has(e.program)).toBe(false);
  });

  it('samples the n learnability attempts at the training temperature and never trains on them', async () => {
    const policy = scriptedPolicy(toyScript);
    const t = testCoordinator({ config: { ...TOY_CONFIG, temperature: 0.7 }, policy, executor });
    await t.run();
    const mc = policy.calls.filter((c) => c.purpose === 'learnability');
    expect(mc.length).toBeGreaterThan(0);
    expect(new Set(policy.calls.map((c) => c.temperature))).toEqual(new Set([0.7]));
    const trained = new Set(t.learner.batches.flatMap((b) => b.batches.flatMap((g) => g.samples.map((s) => s.id))));
    for (const call of mc) for (const r of call.requests) expect(trained.has(r.id)).toBe(false);
  });

  it('draws step t’s solver tasks from the buffer as it stood at the start of step t (newest first)', async () => {
    const policy = scriptedPolicy(toyScript);
    const t = testCoordinator({ config: TOY_CONFIG, policy, executor });
    await t.run();
    // Deduction tasks that were valid, by the step that made them (0 = seeding).
    const madeAt = new Map<string, number[]>();
    for (const e of t.eventsOf('proposal.validated').filter((x) => x.valid && x.task === 'deduction' || (x.valid && x.step === 0 && x.task !== 'induction'))) {
      const key = JSON.stringify([e.program, e.input]);
      madeAt.set(key, [...(madeAt.get(key) ?? []), e.step]);
    }
    madeAt.set(JSON.stringify(['function f(a) { return a; }', '"abc"']), [0]);
    for (const call of policy.calls.filter((c) => c.purpose === 'train')) {
      const views = call.requests.filter((r) => r.role === 'solve').map((r) => r.view as SolverView);
      const deduction = views.filter((v): v is Extract<SolverView, { type: 'deduction' }> => v.type === 'deduction');
      if (deduction.length === 0) continue;
      const steps = deduction.map((v) => Math.min(...(madeAt.get(JSON.stringify([v.program, v.input])) ?? [Infinity])));
      // Nothing from step t itself (or later): the draw happened before step t's proposals existed.
      for (const s of steps) expect(s).toBeLessThan(call.step);
      // maxNew: the previous step's additions come first when there are any.
      const previous = [...madeAt.values()].some((s) => s.includes(call.step - 1));
      if (call.step > 1 && previous) expect(steps).toContain(call.step - 1);
    }
  });

  it('calls the learner exactly once per step, with all six batches and every scored rollout', async () => {
    const t = run();
    await t.run();
    expect(t.learner.batches).toHaveLength(3);
    t.learner.batches.forEach((input, i) => {
      expect(input.step).toBe(i + 1);
      expect(input.batches.map((b) => `${b.role}/${b.type}`)).toEqual([
        'propose/deduction',
        'propose/abduction',
        'propose/induction',
        'solve/deduction',
        'solve/abduction',
        'solve/induction',
      ]);
      const ids = input.batches.flatMap((b) => b.samples.map((s) => s.id)).sort();
      expect(ids).toEqual(t.eventsOf('rollout.scored').filter((e) => e.step === i + 1).map((e) => e.id).sort());
    });
    // Rollouts of step t were sampled with the weights of version t − 1 (on-policy), which the learner then bumps.
    for (const e of t.eventsOf('rollout.scored')) expect(e.policyVersion).toBe(e.step - 1);
    expect(t.eventsOf('learner.step').map((e) => e.policyVersion)).toEqual([1, 2, 3]);
  });

  it('probes the base model before step 1 and then every probeEvery steps', async () => {
    const t = run({ steps: 5, probeEvery: 2 });
    await t.run();
    const probes = t.eventsOf('probe.evaluated');
    expect(probes.map((e) => [e.step, e.policyVersion])).toEqual([
      [0, 0],
      [2, 2],
      [4, 4],
    ]);
    const firstStep = t.events.findIndex((e) => e.type === 'rollout.scored');
    expect(t.events.indexOf(probes[0]!)).toBeLessThan(firstStep);
  });

  it('seeds the buffers to seedSize valid tasks before training, without learning', async () => {
    const t = run({ seedSize: 5, steps: 1 });
    await t.run();
    const seeding = t.events.filter((e) => e.step === 0);
    expect(seeding.some((e) => e.type === 'rollout.scored' || e.type === 'learner.step')).toBe(false);
    const sizes = t.eventsOf('buffer.sizes')[0]!.sizes;
    expect(sizes.deduction).toBeGreaterThanOrEqual(5);
    expect(sizes.abduction).toBeGreaterThanOrEqual(5);
    expect(sizes.induction).toBeGreaterThanOrEqual(5);
  });

  it('reports health once per step with shares in [0, 1] and the input-ignoring programs it measured', async () => {
    const t = run();
    await t.run();
    const health = t.eventsOf('health');
    expect(health.map((e) => e.step)).toEqual([1, 2, 3]);
    // The toy proposer writes constants (`return 4;`) now and then: they ignore their input.
    expect(health.some((e) => (e.inputIgnoringShare ?? 0) > 0)).toBe(true);
    for (const e of health) expect(e.distinctPrograms).toBeGreaterThan(0);
  });

  it('gives identical events (apart from t) for two runs with the same seed and scripted effects', async () => {
    const a = run();
    const b = run();
    await a.run();
    await b.run();
    expect(withoutT(b.events)).toEqual(withoutT(a.events));
    const c = run({ seed: 8 });
    await c.run();
    expect(withoutT(c.events)).not.toEqual(withoutT(a.events));
  });

  it('turns a policy failure on one task into an error event and goes on with the rest of the step', async () => {
    const policy = scriptedPolicy((req, ctx) => (req.id === '2/solve/deduction/1' ? { error: 'decoder blew up' } : toyScript(req, ctx)));
    const t = testCoordinator({ config: TOY_CONFIG, policy, executor });
    const out = await t.run();
    expect(out.reason).toBe('completed');
    const errors = t.eventsOf('error');
    expect(errors).toEqual([expect.objectContaining({ step: 2, source: 'policy', kind: 'policyFailed', rolloutId: '2/solve/deduction/1' })]);
    const step2 = t.eventsOf('rollout.scored').filter((e) => e.step === 2);
    expect(step2.some((e) => e.id === '2/solve/deduction/1')).toBe(false);
    expect(step2.filter((e) => e.role === 'solve' && e.task === 'deduction')).toHaveLength(TOY_CONFIG.batch.solve.deduction - 1);
  });

  it('retries a failed executor batch, then skips it with an error event; the run goes on', async () => {
    let failures = 0;
    const flaky = scriptedExecutor({
      check: async (requests) => {
        if (requests.some((r) => r.id.startsWith('2/solve/abduction'))) {
          failures++;
          throw new Error('pool is down');
        }
        return inProcessExecutor.check(requests);
      },
    });
    const t = testCoordinator({ config: { ...TOY_CONFIG, effectRetries: 2 }, policy: scriptedPolicy(toyScript), executor: flaky });
    const out = await t.run();
    expect(out.reason).toBe('completed');
    expect(failures).toBe(3);
    expect(t.eventsOf('error')).toEqual([expect.objectContaining({ step: 2, source: 'executor', kind: 'batchFailed', task: 'abduction' })]);
    // Ungraded answers are not trained on; the ill-formed ones of that batch still are (−1 needs no grading).
    const step2 = t.eventsOf('rollout.scored').filter((e) => e.step === 2 && e.role === 'solve' && e.task === 'abduction');
    for (const e of step2) expect(e.reward).toBe(-1);
    expect(t.learner.batches).toHaveLength(3);
  });
});

describe('coordinatorMachine: stop, checkpoint, resume', () => {
  it('on STOP mid-step: abandons the step, checkpoints the last completed step, finishes (interrupted)', async () => {
    // Arrange: stop as soon as step 2 starts solving.
    const checkpoints = fakeCheckpointStore();
    const t = run({ checkpointEvery: 0 }, { checkpoint: checkpoints });
    t.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.solve')) t.actor.send({ type: 'STOP' });
    });

    // Act
    const out = await t.run();

    // Assert
    expect(out).toEqual({ reason: 'interrupted', steps: 1 });
    const tail = t.events.filter((e) => e.type !== 'actor.state').slice(-1)[0]!;
    expect(tail.type).toBe('checkpoint.saved');
    expect(t.events.some((e) => e.type === 'learner.step' && e.step === 2)).toBe(false);
    expect(t.eventsOf('rollout.dropped').every((e) => e.reason === 'aborted' && e.step === 2)).toBe(true);
    const saved = checkpoints.latest()!;
    expect(saved.step).toBe(1);
    expect(saved.policyVersion).toBe(1);
    for (const b of [saved.buffers.deduction, saved.buffers.abduction, saved.buffers.induction]) expect(b.entries.every((e) => e.step <= 1)).toBe(true);
    expect(Object.keys(saved.actors).sort()).toEqual(['executor', 'learner', 'proposer', 'solver']);
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
    // The channel holds nothing and nobody waits: the abandoned slots were released.
    expect(t.channel.status()).toMatchObject({ depth: 0, waiting: 0 });
  });

  it('on STOP during learn: finishes the step’s update, then checkpoints it', async () => {
    const checkpoints = fakeCheckpointStore();
    const t = run({ checkpointEvery: 0 }, { checkpoint: checkpoints });
    t.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.learn')) t.actor.send({ type: 'STOP' });
    });
    const out = await t.run();
    expect(out).toEqual({ reason: 'interrupted', steps: 2 });
    expect(checkpoints.latest()!.step).toBe(2);
    expect(t.eventsOf('learner.step').map((e) => e.step)).toEqual([1, 2]);
  });

  it('resumes from a checkpoint at the next step and replays the uninterrupted run exactly', async () => {
    // Arrange: an uninterrupted run, and a run stopped in step 2.
    const full = run();
    await full.run();
    const checkpoints = fakeCheckpointStore();
    const first = run({ checkpointEvery: 0 }, { checkpoint: checkpoints });
    first.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.verify')) first.actor.send({ type: 'STOP' });
    });
    await first.run();
    const resume: CheckpointData = checkpoints.latest()!;

    // Act
    const second = run({}, { resume, nextSeq: first.bus.nextSeq });
    const out = await second.run();

    // Assert: it starts at step 2 (no seeding, no base probe) and its steps match the uninterrupted run's.
    expect(out).toEqual({ reason: 'completed', steps: 3 });
    expect(second.events[0]!.seq).toBe(first.bus.nextSeq);
    expect(second.events.some((e) => e.step < 2 && e.type !== 'actor.state')).toBe(false);
    const pick = (events: readonly RunEvent[]) =>
      events.filter((e) => e.step >= 2 && (e.type === 'rollout.scored' || e.type === 'proposal.validated' || e.type === 'learner.step')).map(({ seq: _s, t: _t, ...rest }) => rest);
    expect(pick(second.events)).toEqual(pick(full.events));
  });
});

describe('coordinatorMachine: backpressure with a slow learner', () => {
  it('pauses producers while the learner works, and never holds more scored rollouts than capacity + credit', async () => {
    // Arrange: a learner that takes 500 ms (simulated) per step.
    const clock = new SimulatedClock();
    const learner = fakeLearner({ delayMs: 500, clock });
    const policy = scriptedPolicy(toyScript);
    const callTimes: number[] = [];
    const timed = { generate: (input: Parameters<typeof policy.generate>[0]) => (callTimes.push(clock.now()), policy.generate(input)) };
    const t = testCoordinator({ config: { ...TOY_CONFIG, queueCapacity: 2 }, policy: timed, executor, learner, clock });
    learner.onPublish = (v) => void (policy.policyVersion = v);
    const learning: [number, number][] = [];
    let maxDepth = 0;
    t.channel.status$.subscribe((s) => void (maxDepth = Math.max(maxDepth, s.depth)));
    t.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'learner' && e.state === 'learning') learning.push([clock.now(), Infinity]);
      if (e.type === 'actor.state' && e.actor === 'learner' && e.state !== 'learning' && learning.length > 0 && learning.at(-1)![1] === Infinity)
        learning.at(-1)![1] = clock.now();
    });

    // Act
    const out = await t.run({ tickMs: 50 });

    // Assert
    expect(out.reason).toBe('completed');
    expect(learning).toHaveLength(3);
    for (const [start, end] of learning) {
      expect(end - start).toBeGreaterThanOrEqual(500);
      expect(callTimes.some((c) => c > start && c < end)).toBe(false);
    }
    expect(maxDepth).toBeLessThanOrEqual(2);
    expect(t.eventsOf('queue.depth').every((e) => e.depth <= e.capacity)).toBe(true);
  });
});
