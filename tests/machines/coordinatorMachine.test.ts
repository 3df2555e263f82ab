import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventOf } from '../../src/streams/events.js';
import type { SolverView } from '../../src/azr/index.js';
import type { CheckpointData, ExecutorEffect, ProbeEffect } from '../../src/machines/effects.js';
import {
  fakeCheckpointStore,
  fakeLearner,
  fakeProbe,
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
      requests[i]!.program.includes('+ 3;')
        ? { id: r.id, ok: false, error: { kind: 'banned', message: 'no threes' } }
        : r,
    );
  },
});

function run(config: object = {}, extra: Partial<Parameters<typeof testCoordinator>[0]> = {}) {
  return testCoordinator({
    config: { ...TOY_CONFIG, ...config },
    policy: scriptedPolicy(toyScript),
    executor,
    ...extra,
  });
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const withoutT = (events: readonly RunEvent[]) => events.map(({ t: _t, ...rest }) => rest);

/**
 * Records the learner's busy windows ([start, end] in simulated ms, from its actor.state events) and the deepest the
 * rollout channel got.
 */
function watchLearner(t: ReturnType<typeof testCoordinator>, clock: SimulatedClock) {
  const learning: [number, number][] = [];
  let maxDepth = 0;
  t.channel.status$.subscribe((s) => void (maxDepth = Math.max(maxDepth, s.depth)));
  t.bus.events$.subscribe((e) => {
    if (e.type !== 'actor.state' || e.actor !== 'learner') return;
    if (e.state === 'learning') learning.push([clock.now(), Infinity]);
    else if (learning.at(-1)?.[1] === Infinity) learning.at(-1)![1] = clock.now();
  });
  return { learning, maxDepth: () => maxDepth };
}

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
      for (const e of scored.filter((x) => x.step === step))
        groups.set(`${e.role}/${e.task}`, [...(groups.get(`${e.role}/${e.task}`) ?? []), e]);
      expect([...groups.keys()].sort()).toEqual([
        'propose/abduction',
        'propose/deduction',
        'propose/induction',
        'solve/abduction',
        'solve/deduction',
        'solve/induction',
      ]);
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
    const rewards = new Map(
      t
        .eventsOf('rollout.scored')
        .filter((e) => e.role === 'propose')
        .map((e) => [e.id, e.reward]),
    );
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
      [...last.buffers.deduction.entries, ...last.buffers.abduction.entries, ...last.buffers.induction.entries].map(
        (e) => e.task.program,
      ),
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
    for (const e of t
      .eventsOf('proposal.validated')
      .filter((x) => (x.valid && x.task === 'deduction') || (x.valid && x.step === 0 && x.task !== 'induction'))) {
      const key = JSON.stringify([e.program, e.input]);
      madeAt.set(key, [...(madeAt.get(key) ?? []), e.step]);
    }
    madeAt.set(JSON.stringify(['function f(a) { return a; }', '"abc"']), [0]);
    // What the loop below checked: solver tasks drawn, and steps whose draw followed a step that added tasks.
    let drawn = 0;
    let newestFirst = 0;
    for (const call of policy.calls.filter((c) => c.purpose === 'train')) {
      const views = call.requests.filter((r) => r.role === 'solve').map((r) => r.view as SolverView);
      const deduction = views.filter((v): v is Extract<SolverView, { type: 'deduction' }> => v.type === 'deduction');
      if (deduction.length === 0) continue;
      const steps = deduction.map((v) => Math.min(...(madeAt.get(JSON.stringify([v.program, v.input])) ?? [Infinity])));
      // Nothing from step t itself (or later): the draw happened before step t's proposals existed.
      for (const s of steps) expect(s).toBeLessThan(call.step);
      drawn += steps.length;
      // maxNew: the previous step's additions come first when there are any.
      const previous = [...madeAt.values()].some((s) => s.includes(call.step - 1));
      if (call.step > 1 && previous) {
        expect(steps).toContain(call.step - 1);
        newestFirst += 1;
      }
    }
    // A loop that checked nothing proves nothing: both rules must have been applied.
    expect(drawn).toBeGreaterThan(0);
    expect(newestFirst).toBeGreaterThan(0);
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
      expect(ids).toEqual(
        t
          .eventsOf('rollout.scored')
          .filter((e) => e.step === i + 1)
          .map((e) => e.id)
          .sort(),
      );
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
    const policy = scriptedPolicy((req, ctx) =>
      req.id === '2/solve/deduction/1' ? { error: 'decoder blew up' } : toyScript(req, ctx),
    );
    const t = testCoordinator({ config: TOY_CONFIG, policy, executor });
    const out = await t.run();
    expect(out.reason).toBe('completed');
    const errors = t.eventsOf('error');
    expect(errors).toEqual([
      expect.objectContaining({ step: 2, source: 'policy', kind: 'policyFailed', rolloutId: '2/solve/deduction/1' }),
    ]);
    const step2 = t.eventsOf('rollout.scored').filter((e) => e.step === 2);
    expect(step2.some((e) => e.id === '2/solve/deduction/1')).toBe(false);
    expect(step2.filter((e) => e.role === 'solve' && e.task === 'deduction')).toHaveLength(
      TOY_CONFIG.batch.solve.deduction - 1,
    );
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
    const t = testCoordinator({
      config: { ...TOY_CONFIG, effectRetries: 2 },
      policy: scriptedPolicy(toyScript),
      executor: flaky,
    });
    const out = await t.run();
    expect(out.reason).toBe('completed');
    expect(failures).toBe(3);
    expect(t.eventsOf('error')).toEqual([
      expect.objectContaining({ step: 2, source: 'executor', kind: 'batchFailed', task: 'abduction' }),
    ]);
    // Ungraded answers are not trained on; the ill-formed ones of that batch still are (−1 needs no grading).
    const step2 = t
      .eventsOf('rollout.scored')
      .filter((e) => e.step === 2 && e.role === 'solve' && e.task === 'abduction');
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
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.solve'))
        t.actor.send({ type: 'STOP' });
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
    for (const b of [saved.buffers.deduction, saved.buffers.abduction, saved.buffers.induction])
      expect(b.entries.every((e) => e.step <= 1)).toBe(true);
    expect(Object.keys(saved.actors).sort()).toEqual(['executor', 'learner', 'proposer', 'solver']);
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
    // The channel holds nothing and nobody waits: the abandoned slots were released.
    expect(t.channel.status()).toMatchObject({ depth: 0, waiting: 0 });
  });

  it('on STOP during learn: finishes the step’s update, then checkpoints it', async () => {
    const checkpoints = fakeCheckpointStore();
    const t = run({ checkpointEvery: 0 }, { checkpoint: checkpoints });
    t.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.learn'))
        t.actor.send({ type: 'STOP' });
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
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.verify'))
        first.actor.send({ type: 'STOP' });
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
      events
        .filter(
          (e) =>
            e.step >= 2 &&
            (e.type === 'rollout.scored' || e.type === 'proposal.validated' || e.type === 'learner.step'),
        )
        .map(({ seq: _s, t: _t, ...rest }) => rest);
    expect(pick(second.events)).toEqual(pick(full.events));
  });
});

describe('coordinatorMachine: stop during seeding, then resume', () => {
  /** The events a resumed log holds: the first run's up to the checkpoint's seeding mark, then the resumed run's. */
  async function stopAndResume(config: object, stopWhen: (e: RunEvent) => boolean, probe?: ProbeEffect) {
    const checkpoints = fakeCheckpointStore();
    const first = run({ checkpointEvery: 0, ...config }, { checkpoint: checkpoints, ...(probe ? { probe } : {}) });
    let sent = false;
    first.bus.events$.subscribe((e) => {
      if (!sent && stopWhen(e)) {
        sent = true;
        first.actor.send({ type: 'STOP' });
      }
    });
    expect(await first.run()).toEqual({ reason: 'interrupted', steps: 0 });
    const resume = checkpoints.latest()!;
    const cut = resume.seeding?.eventSeq ?? first.bus.nextSeq;
    const second = run(config, { resume, nextSeq: cut });
    expect(await second.run()).toMatchObject({ reason: 'completed' });
    return { resume, first, second, log: [...first.events.filter((e) => e.seq < cut), ...second.events] };
  }

  const record = (events: readonly RunEvent[]) =>
    events
      .filter(
        (e) =>
          e.type !== 'actor.state' &&
          e.type !== 'queue.depth' &&
          e.type !== 'checkpoint.saved' &&
          e.type !== 'run.finished',
      )
      .map(({ seq: _s, t: _t, ...rest }) => JSON.stringify(rest));

  it('resumes seeding at the round in flight: no step-0 record twice, the same run as an uninterrupted one', async () => {
    // Arrange: stop in the third seeding round, while the executor validates it.
    const config = { seedSize: 6, steps: 2 };
    const full = run(config);
    await full.run();
    let validates = 0;

    // Act
    const { resume, log } = await stopAndResume(
      config,
      (e) =>
        e.type === 'actor.state' && e.actor === 'coordinator' && e.state === 'seeding.validate' && ++validates === 3,
    );

    // Assert
    expect(resume.seeded).toBe(false);
    expect(resume.seeding!.rounds).toEqual({ deduction: 2, abduction: 0, induction: 0 });
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
    const ids = log
      .filter((e): e is RunEventOf<'proposal.validated'> => e.type === 'proposal.validated')
      .map((e) => e.rolloutId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(log.filter((e) => e.type === 'probe.evaluated' && e.step === 0)).toHaveLength(1);
    expect(log.filter((e) => e.type === 'buffer.sizes' && e.step === 0)).toHaveLength(1);
    expect(record(log)).toEqual(record(full.events));
  });

  it('a stop during the base probe waits for it, so the resumed log still has exactly one base probe', async () => {
    const clock = new SimulatedClock();
    const slow: ProbeEffect = {
      async evaluate(input) {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
        return fakeProbe().evaluate(input);
      },
    };
    const config = { steps: 2 };
    const full = run(config);
    await full.run();
    const checkpoints = fakeCheckpointStore();
    const first = run({ ...config, checkpointEvery: 0 }, { checkpoint: checkpoints, probe: slow, clock });
    first.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.state === 'baseProbe')
        first.actor.send({ type: 'STOP' });
    });
    expect(await first.run()).toEqual({ reason: 'interrupted', steps: 0 });
    const resume = checkpoints.latest()!;
    expect(resume.seeded).toBe(true);
    const second = run(config, { resume, nextSeq: first.bus.nextSeq });
    await second.run();
    const log = [...first.events, ...second.events];
    expect(log.filter((e) => e.type === 'probe.evaluated' && e.step === 0)).toHaveLength(1);
    const pick = (events: readonly RunEvent[]) =>
      events
        .filter((e) => e.type === 'rollout.scored' || e.type === 'proposal.validated' || e.type === 'learner.step')
        .map(({ seq: _s, t: _t, ...rest }) => rest);
    expect(pick(log)).toEqual(pick(full.events));
  });
});

describe('coordinatorMachine: backpressure with a slow learner', () => {
  it('pauses producers while the learner works, and never holds more scored rollouts than capacity + credit', async () => {
    // Arrange: a learner that takes 500 ms (simulated) per step.
    const clock = new SimulatedClock();
    const learner = fakeLearner({ delayMs: 500, clock });
    const policy = scriptedPolicy(toyScript);
    const callTimes: number[] = [];
    const timed = {
      generate: (input: Parameters<typeof policy.generate>[0]) => (callTimes.push(clock.now()), policy.generate(input)),
    };
    const t = testCoordinator({ config: { ...TOY_CONFIG, queueCapacity: 2 }, policy: timed, executor, learner, clock });
    learner.onPublish = (v) => void (policy.policyVersion = v);
    const { learning, maxDepth } = watchLearner(t, clock);

    // Act
    const out = await t.run({ tickMs: 50 });

    // Assert
    expect(out.reason).toBe('completed');
    expect(learning).toHaveLength(3);
    for (const [start, end] of learning) {
      expect(end - start).toBeGreaterThanOrEqual(500);
      expect(callTimes.some((c) => c > start && c < end)).toBe(false);
    }
    expect(maxDepth()).toBeLessThanOrEqual(2);
    expect(t.eventsOf('queue.depth').every((e) => e.depth <= e.capacity)).toBe(true);
  });
});

describe('coordinatorMachine: anti-degeneracy options (off = the paper)', () => {
  it('by default neither caps programs nor adds a novelty bonus: the events carry neither field', async () => {
    const t = run();
    await t.run();
    expect(t.eventsOf('health').every((e) => e.programCapped === undefined)).toBe(true);
    expect(t.eventsOf('proposal.validated').every((e) => e.novelty === undefined)).toBe(true);
  });

  it('buffer.maxProgramShare: valid tasks of an over-represented program are not buffered, and health.programCapped counts them', async () => {
    // Arrange: the toy proposer writes only a handful of programs (n + 0 … n + 3, constants), so they pile up.
    const checkpoints = fakeCheckpointStore();
    const t = run({ steps: 4, checkpointEvery: 1, buffer: { maxProgramShare: 0.2 } }, { checkpoint: checkpoints });

    // Act
    await t.run();

    // Assert: every valid training proposal was either buffered or capped, and some were capped.
    const capped = t.eventsOf('health').map((e) => e.programCapped!);
    expect(capped.every((n) => Number.isInteger(n))).toBe(true);
    expect(capped.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const seeded = t.eventsOf('buffer.sizes').find((e) => e.step === 0)!.sizes;
    const final = checkpoints.latest()!.buffers;
    const grown =
      final.deduction.entries.length +
      final.abduction.entries.length +
      final.induction.entries.length -
      seeded.deduction -
      seeded.abduction -
      seeded.induction;
    const valid = t.eventsOf('proposal.validated').filter((e) => e.step > 0 && e.valid).length;
    expect(grown).toBe(valid - capped.reduce((a, b) => a + b, 0));
    // No program entered a buffer while it already held ≥ 20% of it: check the buffers as each step left them.
    for (const saved of checkpoints.saved)
      for (const b of [saved.buffers.deduction, saved.buffers.abduction]) {
        const counts = new Map<string, number>();
        for (const e of b.entries) counts.set(e.task.program, (counts.get(e.task.program) ?? 0) + 1);
        for (const n of counts.values()) expect(n).toBeLessThan(0.2 * b.entries.length + 1);
      }
  });

  it('novelty: each trained valid proposal earns learnability + coef / (1 + recent proposals of its program)', async () => {
    // Arrange
    const coef = 0.5;
    const window = 2;
    const t = run({ steps: 4, novelty: { coef, window } });

    // Act
    await t.run();

    // Assert: recompute every bonus from the proposal.validated events alone.
    const keyOf = (e: RunEventOf<'proposal.validated'>) =>
      e.task === 'induction' ? `induction:${JSON.stringify([e.program, e.input])}` : e.program;
    const valid = t.eventsOf('proposal.validated').filter((e) => e.step > 0 && e.valid);
    const rewards = new Map(t.eventsOf('rollout.scored').map((e) => [e.id, e.reward]));
    let checked = 0;
    for (const e of valid) {
      const sameStepEarlier = valid.filter(
        (x) => x.step === e.step && TOY_CONFIG_TYPES.indexOf(x.task) < TOY_CONFIG_TYPES.indexOf(e.task),
      );
      const batch = valid.filter((x) => x.step === e.step && x.task === e.task);
      const windowed = valid.filter((x) => x.step < e.step && x.step >= e.step - window);
      const k = [...windowed, ...sameStepEarlier, ...batch].filter((x) => keyOf(x) === keyOf(e)).length - 1;
      expect(e.novelty).toBeCloseTo(coef / (1 + k), 12);
      expect(rewards.get(e.rolloutId)).toBeCloseTo(e.learnability! + e.novelty!, 12);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
    expect(valid.some((e) => e.novelty! < coef)).toBe(true); // the toy proposer repeats itself
  });

  it('novelty resumes exactly: the window is part of the checkpoint', async () => {
    const config = { steps: 4, novelty: { coef: 0.5, window: 2 } };
    const full = run(config);
    await full.run();
    const checkpoints = fakeCheckpointStore();
    const first = run({ ...config, checkpointEvery: 0 }, { checkpoint: checkpoints });
    first.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 3 && e.state.endsWith('.solve'))
        first.actor.send({ type: 'STOP' });
    });
    await first.run();
    expect(checkpoints.latest()!.noveltyHistory).toHaveLength(2);
    const second = run(config, { resume: checkpoints.latest()!, nextSeq: first.bus.nextSeq });
    await second.run();
    const pick = (events: readonly RunEvent[]) =>
      events
        .filter((e) => e.step >= 3 && (e.type === 'rollout.scored' || e.type === 'proposal.validated'))
        .map(({ seq: _s, t: _t, ...rest }) => rest);
    expect(pick(second.events)).toEqual(pick(full.events));
  });
});

const TOY_CONFIG_TYPES = ['deduction', 'abduction', 'induction'] as const;

describe('coordinatorMachine: async mode (overlapping rollouts and learning, bounded staleness)', () => {
  /** A run with a learner that takes 500 ms (simulated) per update; learning windows and policy-call times recorded. */
  function asyncRun(config: object) {
    const clock = new SimulatedClock();
    const learner = fakeLearner({ delayMs: 500, clock });
    const policy = scriptedPolicy(toyScript);
    const calls: { at: number; version: number; purpose: string }[] = [];
    // Each policy call takes 20 ms (simulated), so calls made while an update runs fall strictly inside it.
    const timed = {
      generate: async (input: Parameters<typeof policy.generate>[0]) => {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 20));
        calls.push({ at: clock.now(), version: policy.policyVersion, purpose: input.purpose });
        return policy.generate(input);
      },
    };
    const t = testCoordinator({
      config: { ...TOY_CONFIG, steps: 4, mode: 'async', ...config },
      policy: timed,
      executor,
      learner,
      clock,
    });
    learner.onPublish = (v) => void (policy.policyVersion = v);
    const { learning, maxDepth } = watchLearner(t, clock);
    return { t, calls, learning, learner, maxDepth };
  }
  const perStep = 2 * (4 + 4 + 3); // trained rollouts per step in TOY_CONFIG (both roles)

  it('proposes and solves the next step while the learner learns, and drops rollouts beyond maxStaleness (0)', async () => {
    // Arrange
    const { t, calls, learning, maxDepth } = asyncRun({ maxStaleness: 0 });

    // Act
    const out = await t.run({ tickMs: 50 });

    // Assert: the run completes with a gap-free log.
    expect(out).toEqual({ reason: 'completed', steps: 4 });
    expect(t.events.map((e) => e.seq)).toEqual(t.events.map((_, i) => i));
    // Overlap: policy calls happen while an update is in progress (sync never does this).
    expect(learning.length).toBeGreaterThan(0);
    const during = calls.filter((c) => learning.some(([start, end]) => c.at > start && c.at < end));
    expect(during.length).toBeGreaterThan(0);
    // Staleness: what was made with the weights the learner has since replaced is dropped and said so.
    const stale = t.eventsOf('rollout.dropped').filter((e) => e.reason === 'stale');
    expect(stale.length).toBeGreaterThan(0);
    for (const e of stale) expect(e.policyVersion).toBeLessThan(e.currentPolicyVersion);
    for (const e of t.eventsOf('rollout.scored'))
      expect(e.policyVersion).toBe(t.eventsOf('learner.step').filter((l) => l.seq < e.seq).length);
    // Learning goes on: updates land, and a step left with nothing to learn says so instead of failing.
    expect(t.eventsOf('learner.step').length).toBeGreaterThan(0);
    for (const e of t.eventsOf('error')) expect(e.kind).toBe('nothingToLearn');
    // Backpressure: nothing ever waits in the channel beyond credit, and no step trains on more than its own rollouts.
    expect(maxDepth()).toBe(0);
    for (let step = 1; step <= 4; step++)
      expect(
        t.events.filter((e) => (e.type === 'rollout.scored' || e.type === 'rollout.dropped') && e.step === step).length,
      ).toBeLessThanOrEqual(perStep);
  });

  it('keeps rollouts one version behind with maxStaleness 1: every step is learned, some off-policy', async () => {
    const { t, calls, learner } = asyncRun({ maxStaleness: 1 });
    const out = await t.run({ tickMs: 50 });
    expect(out).toEqual({ reason: 'completed', steps: 4 });
    expect(t.eventsOf('rollout.dropped')).toEqual([]);
    expect(learner.batches.map((b) => b.step)).toEqual([1, 2, 3, 4]);
    expect(t.eventsOf('learner.step').map((e) => e.policyVersion)).toEqual([1, 2, 3, 4]);
    // Step t's rollouts were sampled with version t − 2 while update t − 1 ran: one behind, within the bound.
    const offPolicy = t.eventsOf('rollout.scored').filter((e) => e.policyVersion === e.step - 2);
    expect(offPolicy.length).toBeGreaterThan(0);
    expect(calls.some((c) => c.purpose === 'train' && c.version < Math.max(...calls.map((x) => x.version)))).toBe(true);
  });

  it('on STOP finishes the step in flight, waits for its update and checkpoints it', async () => {
    const { t } = asyncRun({ maxStaleness: 1, checkpointEvery: 0, steps: 10 });
    t.bus.events$.subscribe((e) => {
      if (e.type === 'actor.state' && e.actor === 'coordinator' && e.step === 2 && e.state.endsWith('.solve'))
        t.actor.send({ type: 'STOP' });
    });
    const out = await t.run({ tickMs: 50 });
    expect(out).toEqual({ reason: 'interrupted', steps: 2 });
    const saved = (t.checkpoint as ReturnType<typeof fakeCheckpointStore>).latest()!;
    expect(saved).toMatchObject({ step: 2, policyVersion: 2 });
    expect(t.eventsOf('learner.step').map((e) => e.policyVersion)).toEqual([1, 2]);
    expect(t.eventsOf('rollout.dropped')).toEqual([]);
  });
});

describe('coordinatorMachine: phase timings', () => {
  it('step.finished carries the time of each phase it entered, and the phases add up to the step duration', async () => {
    // Arrange: a learner that takes 500 ms and a probe that takes 100 ms (simulated), probe and checkpoint every 2 steps.
    const clock = new SimulatedClock();
    const learner = fakeLearner({ delayMs: 500, clock });
    const probe = fakeProbe();
    const slowProbe: ProbeEffect = {
      evaluate: async (input) => (
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 100)),
        probe.evaluate(input)
      ),
    };
    const t = run({}, { learner, probe: slowProbe, checkpoint: fakeCheckpointStore(), clock });

    // Act
    await t.run({ tickMs: 10 });

    // Assert
    const finished = t.eventsOf('step.finished');
    expect(finished.map((e) => e.step)).toEqual([1, 2, 3]);
    for (const e of finished) {
      const phases = e.phases!;
      const total = Object.values(phases).reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(e.durationMs, 6);
      for (const p of [
        'buffer',
        'propose',
        'validate',
        'learnability',
        'solve',
        'verify',
        'advantages',
        'learn',
      ] as const)
        expect(phases).toHaveProperty(p);
      expect(phases.learn).toBeGreaterThanOrEqual(500);
      expect(phases.probe !== undefined).toBe(e.step === 2); // probeEvery 2 (step 0's base probe is before any step)
      expect(phases.checkpoint !== undefined).toBe(e.step === 2 || e.step === 3); // checkpointEvery 2, and the last
    }
    expect(finished.find((e) => e.step === 2)!.phases!.probe).toBeGreaterThanOrEqual(100);
  });
});

describe('coordinatorMachine: several answers per solver task (selfPlay.solveSamples, not the paper)', () => {
  it('trains on solveSamples answers per task, grouped by task for the task baseline', async () => {
    // Arrange
    const learner = fakeLearner();
    const t = run({ solveSamples: 3, advantage: { baseline: 'task' } }, { learner });
    // Act
    const out = await t.run();
    // Assert: 3 answers per drawn task; each task's answers share a group and their advantages sum to 0
    expect(out.reason).toBe('completed');
    for (const input of learner.batches) {
      const solve = input.batches.filter((b) => b.role === 'solve').flatMap((b) => b.samples);
      const byTask = new Map<string, number[]>();
      for (const s of solve) byTask.set(s.group!, [...(byTask.get(s.group!) ?? []), s.advantage]);
      expect(solve.length).toBeGreaterThan(0);
      for (const [, advantages] of byTask) {
        expect(advantages).toHaveLength(3);
        expect(Math.abs(advantages.reduce((a, b) => a + b, 0))).toBeLessThan(1e-9);
      }
    }
  });
});
