// A scripted stand-in for `azr run`: realistic per-step event volumes through a real EventBus and EventLog (tests, bench, demos).
import { join } from 'node:path';
import { Rng } from '../../src/azr/rng.js';
import { EventBus } from '../../src/streams/bus.js';
import { EventLog } from '../../src/streams/eventLog.js';
import { TASK_TYPES, eventBody } from '../../src/streams/events.js';
import type { RunEventBody, TaskType } from '../../src/streams/events.js';

export interface SyntheticRunOptions {
  /** Directory that receives events.jsonl (which must not exist yet). */
  dir: string;
  runId?: string;
  /** Training steps after step 0 (run.started and the base probe). */
  steps: number;
  seed?: number;
  /** Proposals per task type per step. Default 11 (33 a step, as the measured self-play loop). */
  proposalsPerTask?: number;
  /** Solver rollouts per task type per step. Default 43 (129 a step). */
  solvesPerTask?: number;
  /** Monte Carlo solver attempts per valid proposal. Default 4. */
  mcSamples?: number;
  /** Probe evaluation every this many steps (and at step 0). Default 5. */
  probeEvery?: number;
  /** Events emitted between two pauses. Default 24. */
  eventsPerChunk?: number;
  /** Where the producer yields, as real actors await workers; default `setImmediate`. */
  pause?: () => Promise<void>;
  /** Stand-in for sampling and learning, called once per chunk (e.g. a busy loop in the bench). */
  work?: () => void;
  /** Clock for event `t`; default a counter that advances 1 ms per event (no wall clock). */
  clock?: () => number;
  /** The log writer's buffer (default 64 KiB as in a real run). */
  logBufferBytes?: number;
  /** Pretraining steps of a base-model build shown before run.started (base.progress events); default 0: none. */
  baseSteps?: number;
}

export interface SyntheticRun {
  readonly bus: EventBus;
  readonly log: EventLog;
  readonly logPath: string;
  readonly runId: string;
  /**
   * Emits every step, then run.finished; flushes and closes the log and completes the bus. `onStep` is called
   * after each step's step.finished (the bench times steps with it).
   */
  run(onStep?: (step: number) => void): Promise<void>;
}

const PROGRAMS: ((k: number) => { program: string; input: string; output: string })[] = [
  (k) => ({ program: `function f(a) {\n  return a * ${k} + 1;\n}`, input: `${k + 2}`, output: `${(k + 2) * k + 1}` }),
  (k) => ({
    program: `function f(s) {\n  return s.split('').reverse().join('') + ${k};\n}`,
    input: `'azr${k}'`,
    output: JSON.stringify(`azr${k}`.split('').reverse().join('') + k),
  }),
  (k) => ({
    program: `function f(xs) {\n  return xs.filter((x) => x > ${k}).length;\n}`,
    input: `[${k - 1}, ${k + 1}, ${k + 3}, 0]`,
    output: '2',
  }),
  (k) => ({
    program: `function f(a, b) {\n  return a % (b + ${k});\n}`,
    input: `${k * 7}, 3`,
    output: `${(k * 7) % (3 + k)}`,
  }),
  (k) => ({
    program: `function f(s) {\n  let n = 0;\n  for (const c of s) if (c === 'a') n += ${k};\n  return n;\n}`,
    input: `'banana'`,
    output: `${3 * k}`,
  }),
];

const ERRORS = ['syntax', 'timeout', 'nondeterministic', 'banned'] as const;

/** Normalises rewards within one (role × task) batch, as TRR++ does. */
function advantages(rewards: number[]): number[] {
  const mean = rewards.reduce((a, b) => a + b, 0) / Math.max(1, rewards.length);
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, rewards.length));
  return rewards.map((r) => (std > 1e-8 ? (r - mean) / std : 0));
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Creates a synthetic run writing `dir/events.jsonl`; nothing is emitted until {@link SyntheticRun.run}. */
export function createSyntheticRun(options: SyntheticRunOptions): SyntheticRun {
  const runId = options.runId ?? 'synthetic';
  const seed = options.seed ?? 1;
  const rng = new Rng(seed);
  const proposalsPerTask = options.proposalsPerTask ?? 11;
  const solvesPerTask = options.solvesPerTask ?? 43;
  const mcSamples = options.mcSamples ?? 4;
  const probeEvery = options.probeEvery ?? 5;
  const eventsPerChunk = options.eventsPerChunk ?? 24;
  const pause = options.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  let tick = 0;
  const clock = options.clock ?? (() => tick++);
  const bus = new EventBus({ runId, clock });
  const logPath = join(options.dir, 'events.jsonl');
  const log = EventLog.create(logPath, { bufferBytes: options.logBufferBytes ?? 64 * 1024 });
  bus.events$.subscribe((event) => log.append(event));

  let sinceChunk = 0;
  const emit = async (body: RunEventBody) => {
    bus.emit(body);
    sinceChunk += 1;
    if (sinceChunk >= eventsPerChunk) {
      sinceChunk = 0;
      options.work?.();
      await pause();
    }
  };
  const buffers: Record<TaskType, number> = { deduction: 1, abduction: 1, induction: 1 };
  let credit = 8;
  const queue = async (name: string, depth: number, capacity: number, withCredit: boolean) =>
    emit(
      eventBody('queue.depth', {
        queue: name,
        depth,
        capacity,
        credit: withCredit ? credit : null,
        stallMs: round(tick / 50),
        waiting: depth >= capacity ? 1 : 0,
      }),
    );
  const state = (actor: string, s: string) => emit(eventBody('actor.state', { actor, state: s }));

  const probe = async (step: number) => {
    const skill = Math.min(0.9, 0.3 + step * 0.01);
    const acc = (offset: number) => round(Math.min(1, Math.max(0, skill + offset + (rng.next() - 0.5) * 0.04)));
    const accuracy = { deduction: acc(0.1), abduction: acc(0), induction: acc(-0.15), overall: acc(-0.02) };
    await emit(eventBody('probe.evaluated', { policyVersion: step, tasks: 200, accuracy, byTier: { '1': accuracy } }));
  };

  async function trainingStep(step: number): Promise<void> {
    bus.setStep(step);
    const skill = Math.min(0.85, 0.35 + step * 0.01);
    await state('coordinator', 'step.propose');
    let valid = 0;
    let learnable = 0;
    let learnSum = 0;
    const programs = new Set<string>();
    for (const task of TASK_TYPES) {
      await state('proposer', `proposing.${task}`);
      const proposerRewards: { id: string; reward: number; tokens: number }[] = [];
      for (let i = 0; i < proposalsPerTask; i++) {
        const id = `p${step}-${task.slice(0, 3)}-${i}`;
        const k = rng.int(40) + 1;
        const triplet = PROGRAMS[rng.int(PROGRAMS.length)]!(k);
        const ok = rng.chance(Math.min(0.95, 0.6 + step * 0.01));
        const tokens = triplet.program.length / 3 + rng.int(8);
        if (ok) {
          const bits = Array.from({ length: mcSamples }, () => (rng.chance(skill) ? 1 : 0) as 0 | 1);
          const mean = bits.reduce<number>((a, b) => a + b, 0) / bits.length;
          const learnability = mean > 0 && mean < 1 ? 1 - mean : 0;
          valid += 1;
          learnSum += learnability;
          if (learnability > 0) learnable += 1;
          programs.add(triplet.program);
          buffers[task] += 1;
          await emit(
            eventBody('proposal.validated', {
              rolloutId: id,
              task,
              valid: true,
              program: triplet.program,
              input: task === 'induction' ? [triplet.input, `${k}`] : triplet.input,
              output: task === 'induction' ? [triplet.output, `${k}`] : triplet.output,
              ...(task === 'induction' ? { message: `count what grows with ${k}` } : {}),
              mcSuccesses: bits,
              learnability,
            }),
          );
          proposerRewards.push({ id, reward: learnability, tokens: Math.round(tokens) });
        } else {
          await emit(
            eventBody('proposal.validated', {
              rolloutId: id,
              task,
              valid: false,
              error: ERRORS[rng.int(ERRORS.length)]!,
              program: triplet.program.slice(0, 10 + rng.int(20)),
              input: triplet.input,
              output: null,
              mcSuccesses: [],
              learnability: null,
            }),
          );
          proposerRewards.push({ id, reward: -1, tokens: Math.round(tokens) });
        }
        if (i % 4 === 3) await queue('proposals→executor', 1 + (i % 3), 8, false);
      }
      const adv = advantages(proposerRewards.map((r) => r.reward));
      for (const [j, r] of proposerRewards.entries())
        await emit(
          eventBody('rollout.scored', {
            role: 'propose',
            task,
            id: r.id,
            reward: round(r.reward),
            advantage: round(adv[j]!),
            policyVersion: step - 1,
            tokens: r.tokens,
          }),
        );
    }
    await state('proposer', 'idle');
    await state('coordinator', 'step.solve');
    for (const task of TASK_TYPES) {
      await state('solver', `solving.${task}`);
      const rewards: number[] = [];
      for (let i = 0; i < solvesPerTask; i++) {
        const u = rng.next();
        rewards.push(u < skill ? 1 : u < 0.97 ? -0.5 : -1);
      }
      const adv = advantages(rewards);
      for (let i = 0; i < solvesPerTask; i++) {
        await emit(
          eventBody('rollout.scored', {
            role: 'solve',
            task,
            id: `s${step}-${task.slice(0, 3)}-${i}`,
            reward: rewards[i]!,
            advantage: round(adv[i]!),
            policyVersion: step - 1,
            tokens: 4 + rng.int(12),
          }),
        );
        if (i % 8 === 7) {
          credit = Math.max(0, credit - 1);
          await queue('scored→learner', 2 + (Math.floor(i / 8) % 6), 16, true);
        }
      }
    }
    await state('solver', 'idle');
    await state('coordinator', 'step.learn');
    await state('learner', 'stepping');
    credit = 8;
    const proposals = proposalsPerTask * TASK_TYPES.length;
    await emit(
      eventBody('learner.step', {
        loss: round(1.5 / Math.sqrt(step + 1) + (rng.next() - 0.5) * 0.05),
        gradNorm: round(0.5 + rng.next()),
        entropy: round(Math.max(0.2, 2 - step * 0.02 + (rng.next() - 0.5) * 0.05)),
        policyVersion: step,
        tokensPerSecond: 4000 + rng.int(1000),
      }),
    );
    await queue('scored→learner', 0, 16, true);
    await state('learner', 'waiting');
    await emit(
      eventBody('health', {
        validShare: round(valid / proposals),
        learnableShare: valid > 0 ? round(learnable / valid) : null,
        zeroAdvantageShare: round(rng.next() * 0.3),
        distinctPrograms: programs.size,
        inputIgnoringShare: round(rng.next() * 0.1),
        meanLearnability: valid > 0 ? round(learnSum / valid) : null,
      }),
    );
    await emit(eventBody('buffer.sizes', { sizes: { ...buffers } }));
    await emit(
      eventBody('executor.stats', {
        runs: step * proposals * 2,
        errors: { timeout: step, syntax: 2 * step },
        respawns: 0,
      }),
    );
    if (step % probeEvery === 0) await probe(step);
    await emit(eventBody('step.finished', { durationMs: 400, phases: { propose: 150, solve: 150, learn: 100 } }));
    await state('coordinator', 'idle');
  }

  return {
    bus,
    log,
    logPath,
    runId,
    async run(onStep) {
      const baseSteps = options.baseSteps ?? 0;
      if (baseSteps > 0) {
        const build = (trainStep: number, probe: number | null) =>
          emit(
            eventBody('base.progress', {
              state: 'building',
              trainStep,
              totalSteps: baseSteps,
              loss: trainStep === 0 ? null : 2 / (1 + trainStep / baseSteps),
              probe,
              trainSeconds: trainStep * 0.1,
            }),
          );
        await build(0, 0.02);
        for (let k = 1; k < baseSteps; k++) await build(k, null);
        await build(baseSteps, 0.09);
        await emit(
          eventBody('base.progress', {
            state: 'built',
            trainStep: baseSteps,
            totalSteps: baseSteps,
            loss: null,
            probe: 0.09,
            trainSeconds: baseSteps * 0.1,
          }),
        );
      }
      await emit(
        eventBody('run.started', {
          scenario: { name: 'synthetic', mode: 'sync', seed, steps: options.steps },
          backend: 'none',
          versions: { azr: '0.1.0', node: process.version },
          resumedFromStep: null,
        }),
      );
      for (const actor of ['coordinator', 'proposer', 'executor', 'solver', 'buffer', 'learner'])
        await state(actor, 'idle');
      await emit(eventBody('buffer.sizes', { sizes: { ...buffers } }));
      await probe(0);
      for (let step = 1; step <= options.steps; step++) {
        await trainingStep(step);
        onStep?.(step);
      }
      await emit(eventBody('run.finished', { reason: 'completed', steps: options.steps }));
      log.close();
      bus.complete();
    },
  };
}
