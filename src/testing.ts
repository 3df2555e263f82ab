// azr/testing: build any actor, or the whole self-play loop, with scripted policies, executors and a fake learner.
//
// Nothing here loads a model or a sandbox. The in-process executor runs *trusted, scripted* programs with
// `new Function`: it is a test double, not a sandbox — never give it model output from a real run.

import { createActor, fromCallback, SimulatedClock, type AnyActorRef, type AnyEventObject } from 'xstate';
import {
  ANSWER_KIND,
  answerContext,
  canonicalValue,
  ignoresInput,
  lex,
  paramsOfProgram,
  probeInputs,
  Rng,
  valueEquals,
  type SegmentContext,
  type SegmentKind,
  type Value,
} from './azr/index.js';
import { EventBus } from './streams/bus.js';
import { CreditChannel } from './streams/creditChannel.js';
import type { RunEvent, RunEventOf, RunEventType } from './streams/events.js';
import { queueDepthBody } from './streams/queueStatus.js';
import { actorStateInspector } from './machines/actorStateInspector.js';
import type { CoordinatorConfigInput } from './machines/config.js';
import type { CoordinatorOutput } from './machines/coordinatorMachine.js';
import type {
  CheckpointData,
  CheckpointEffect,
  CheckRequest,
  CheckResult,
  ExecError,
  ExecutorEffect,
  GenerateInput,
  LearnerEffect,
  LearnInput,
  LearnResult,
  PolicyCompletion,
  PolicyEffect,
  PolicyPurpose,
  PolicyRequest,
  ProbeEffect,
  ProbeResult,
  RolloutChannel,
  ScoredRollout,
  ValidateRequest,
  ValidateResult,
} from './machines/effects.js';
import { fromCreditChannel, withEffects } from './machines/withEffects.js';

export { SimulatedClock } from 'xstate';
export {
  proposerWithEffects,
  solverWithEffects,
  executorWithEffects,
  learnerWithEffects,
  withEffects,
  fromCreditChannel,
} from './machines/withEffects.js';
export { bufferMachine } from './machines/bufferMachine.js';

// ---------------------------------------------------------------------------------------------------------------
// Scripted policy

/** What a script sees besides the request. */
export interface ScriptContext {
  readonly purpose: PolicyPurpose;
  readonly step: number;
  readonly temperature: number;
  /** The policy version completions are stamped with. */
  readonly policyVersion: number;
  /** A stream for this request alone (derived from the call's rng and the request id): scripts may draw from it. */
  readonly rng: Rng;
}

/**
 * A scripted completion: the source text of the answer (one string per segment: a proposer's deduction/abduction
 * answer is `[program, args]`; a solver's is its answer alone — an empty reasoning trace is put before it — or
 * `[trace, answer]` with the trace's lexemes separated by spaces; everything else is one segment), raw lexemes (all
 * segments, a solver's trace first), or a failure on this request.
 * Source that is not in the task language becomes lexemes that fail the format check, as a model's would.
 */
export type ScriptedCompletion =
  | string
  | readonly string[]
  | { readonly lexemes: readonly (readonly string[])[]; readonly truncated?: boolean }
  | { readonly error: string };

export interface ScriptedPolicy extends PolicyEffect {
  /** Stamped on completions; the fake learner's `publish` moves it (see {@link testCoordinator}). */
  policyVersion: number;
  /** Every call, as made (without its rng). */
  readonly calls: Omit<GenerateInput, 'rng'>[];
}

function segmentKinds(request: PolicyRequest): {
  kind: SegmentKind | 'trace';
  context?: (earlier: readonly (readonly string[])[]) => SegmentContext | undefined;
}[] {
  if (request.role === 'solve')
    return [{ kind: 'trace' }, { kind: ANSWER_KIND[request.view.type], context: () => answerContext(request.view) }];
  const view = request.view;
  if (view.type === 'induction')
    return [{ kind: 'inputs+message', context: () => ({ params: view.params, inputs: view.inputs }) }];
  return [
    { kind: 'program' },
    {
      kind: 'args',
      context: (earlier) => {
        const params = paramsOfProgram(earlier[0] ?? []);
        return params ? { params } : undefined;
      },
    },
  ];
}

/** Lexemes of `source` as a segment of `kind`; source outside the language splits on spaces (a format error later). */
export function toLexemes(source: string, kind: SegmentKind, context?: SegmentContext): string[] {
  const words = () => source.split(/\s+/).filter((x) => x !== '');
  try {
    const r = lex(source, kind, context);
    return r.ok ? r.lexemes : words();
  } catch {
    return words(); // e.g. an argument list after a program that has no parameters
  }
}

/**
 * A policy that answers each request with `script(request, context)`. Completion length in tokens: the lexeme
 * count plus one (the end token).
 *
 * @example
 * const policy = scriptedPolicy((req) =>
 *   req.role === 'propose' && req.view.type !== 'induction' ? ['function f(n) { return n + 1; }', '3'] : '4');
 */
export function scriptedPolicy(
  script: (request: PolicyRequest, context: ScriptContext) => ScriptedCompletion,
  options: { readonly policyVersion?: number } = {},
): ScriptedPolicy {
  const policy: ScriptedPolicy = {
    policyVersion: options.policyVersion ?? 0,
    calls: [],
    async generate(input) {
      const { rng, ...rest } = input;
      policy.calls.push(rest);
      return input.requests.map((request): PolicyCompletion => {
        const out = script(request, {
          purpose: input.purpose,
          step: input.step,
          temperature: input.temperature,
          policyVersion: policy.policyVersion,
          rng: rng.split(request.id),
        });
        if (typeof out === 'object' && 'error' in out) return { id: request.id, ok: false, error: out.error };
        let segments: string[][];
        let truncated = false;
        if (typeof out === 'object' && 'lexemes' in out) {
          segments = out.lexemes.map((s) => [...s]);
          truncated = out.truncated ?? false;
        } else {
          let sources = typeof out === 'string' ? [out] : out;
          if (request.role === 'solve' && sources.length === 1) sources = ['', ...sources];
          segments = [];
          segmentKinds(request).forEach(({ kind, context }, i) =>
            segments.push(
              kind === 'trace'
                ? (sources[i] ?? '').split(/\s+/).filter((x) => x !== '')
                : toLexemes(sources[i] ?? '', kind, context?.(segments)),
            ),
          );
        }
        const tokens = segments.reduce((n, s) => n + s.length, 0) + 1;
        return {
          id: request.id,
          ok: true,
          segments,
          tokens,
          policyVersion: policy.policyVersion,
          ...(truncated ? { truncated } : {}),
        };
      });
    },
  };
  return policy;
}

// ---------------------------------------------------------------------------------------------------------------
// Scripted executor

type Outcome = { ok: true; value: Value } | { ok: false; error: ExecError };

function evaluate(body: string): Outcome {
  try {
    // Test double only: scripted programs are trusted (see the header of this file).
    const raw: unknown = new Function(`"use strict";\n${body}`)();
    const value = canonicalValue(raw);
    return value === undefined
      ? { ok: false, error: { kind: 'unserializable', message: `not a value: ${String(raw)}` } }
      : { ok: true, value };
  } catch (e) {
    return {
      ok: false,
      error: {
        kind: e instanceof SyntaxError ? 'syntax' : 'runtime',
        message: e instanceof Error ? e.message : String(e),
      },
    };
  }
}

/** Runs `f(input)` in this process (test double; no limits, no isolation). */
export function runInProcess(program: string, input: string): Outcome {
  return evaluate(`${program}\nreturn f(${input});`);
}

/** The in-process executor's probe inputs: a fixed stream, split per proposal id like the real executor's. */
const PROBE_RNG = new Rng('inProcessExecutor/probes');

/**
 * The in-process executor: validate (run twice, equal; a one-input proposal also once on a probe input, which tells
 * whether it ignores its input), check — the sandbox's semantics without a sandbox. It rejects nothing for ignoring
 * its input or copying an argument (those are ExecutorService options).
 */
export const inProcessExecutor: ExecutorEffect = {
  async validate(requests: readonly ValidateRequest[]): Promise<ValidateResult[]> {
    return requests.map(({ id, program, inputs }) => {
      const outputs: Value[] = [];
      for (const input of inputs) {
        const a = runInProcess(program, input);
        if (!a.ok) return { id, ok: false, error: a.error };
        const b = runInProcess(program, input);
        if (!b.ok || !valueEquals(a.value, b.value))
          return { id, ok: false, error: { kind: 'nondeterministic', message: 'two runs differ' } };
        outputs.push(a.value);
      }
      const probes = (
        inputs.length === 1 ? probeInputs(program, inputs[0]!, PROBE_RNG.split(`other/${id}`), 1) : []
      ).map((input) => {
        const r = runInProcess(program, input);
        return r.ok ? { ok: true as const, output: r.value } : { ok: false as const, infrastructure: false };
      });
      return { id, ok: true, outputs, inputIgnoring: ignoresInput(outputs, probes) };
    });
  },
  async check(requests: readonly CheckRequest[]): Promise<CheckResult[]> {
    return requests.map((r): CheckResult => {
      if (r.type === 'induction') {
        const passed = r.hidden.filter((pair) => {
          const out = runInProcess(r.program, pair.input);
          return out.ok && valueEquals(out.value, pair.output);
        }).length;
        return { id: r.id, ok: true, passed, total: r.hidden.length };
      }
      const out = r.type === 'deduction' ? evaluate(`return (${r.answer});`) : runInProcess(r.program, r.answer);
      return {
        id: r.id,
        ok: true,
        passed: out.ok && valueEquals(out.value, r.gold) ? 1 : 0,
        total: 1,
        ...(out.ok ? {} : { error: out.error }),
      };
    });
  },
};

export interface ScriptedExecutor extends ExecutorEffect {
  /** Calls per method: one per batch. */
  readonly calls: { validate: number; check: number };
}

/** An executor whose methods are the given ones, the {@link inProcessExecutor}'s otherwise; it counts its calls. */
export function scriptedExecutor(overrides: Partial<ExecutorEffect> = {}): ScriptedExecutor {
  const calls = { validate: 0, check: 0 };
  return {
    calls,
    validate: (r) => (calls.validate++, (overrides.validate ?? inProcessExecutor.validate)(r)),
    check: (r) => (calls.check++, (overrides.check ?? inProcessExecutor.check)(r)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Fake learner, probe, checkpoint store

export interface FakeLearner extends LearnerEffect {
  /** Every learn call's input, in order. */
  readonly batches: LearnInput[];
  /** Versions published, in order. */
  readonly published: number[];
  policyVersion: number;
  /** Called on publish (testCoordinator points it at the scripted policy). */
  onPublish?: (policyVersion: number) => void;
}

export interface FakeLearnerOptions {
  /** Each learn call takes this long on `clock` (a slow learner). */
  readonly delayMs?: number;
  readonly clock?: SimulatedClock;
  /** Make a learn call fail (e.g. to test retries). */
  readonly fail?: (input: LearnInput, call: number) => boolean;
  readonly metrics?: (input: LearnInput) => Partial<LearnResult>;
}

/** A learner that records its batches and bumps the version by one per call (optionally slowly, on a simulated clock). */
export function fakeLearner(options: FakeLearnerOptions = {}): FakeLearner {
  let call = 0;
  const learner: FakeLearner = {
    batches: [],
    published: [],
    policyVersion: 0,
    async learn(input) {
      call++;
      if (options.delayMs && options.clock)
        await new Promise<void>((resolve) => options.clock!.setTimeout(resolve, options.delayMs!));
      if (options.fail?.(input, call)) throw new Error(`fake learner failure on call ${call}`);
      learner.batches.push(input);
      learner.policyVersion += 1;
      return {
        loss: 0,
        gradNorm: 0,
        entropy: 0,
        tokensPerSecond: 0,
        ...options.metrics?.(input),
        policyVersion: learner.policyVersion,
      };
    },
    async publish(version) {
      learner.published.push(version);
      learner.onPublish?.(version);
    },
  };
  return learner;
}

/** A probe that returns `accuracy(policyVersion)` for every type (default 0.5), recording each call. */
export function fakeProbe(
  accuracy: (policyVersion: number) => number = () => 0.5,
): ProbeEffect & { calls: { step: number; policyVersion: number }[] } {
  const calls: { step: number; policyVersion: number }[] = [];
  return {
    calls,
    async evaluate(input): Promise<ProbeResult> {
      calls.push(input);
      const a = accuracy(input.policyVersion);
      const acc = { deduction: a, abduction: a, induction: a, overall: a };
      return { tasks: 3, accuracy: acc, byTier: { easy: acc } };
    },
  };
}

/** A checkpoint store that keeps each checkpoint's data in memory (deep-copied through JSON). */
export function fakeCheckpointStore(): CheckpointEffect & {
  saved: CheckpointData[];
  latest(): CheckpointData | undefined;
} {
  const saved: CheckpointData[] = [];
  return {
    saved,
    latest: () => saved[saved.length - 1],
    async save(data) {
      saved.push(JSON.parse(JSON.stringify(data)) as CheckpointData);
      return { path: `checkpoints/step-${data.step}`, bytes: 0 };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Driving actors

/** Lets every pending promise continuation and I/O callback run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A reply inbox: pass `ref` as a request's `replyTo`; `next(type)` resolves with the next reply of that type. */
export function collector(): {
  ref: AnyActorRef;
  received: AnyEventObject[];
  next<E extends AnyEventObject = AnyEventObject>(type: string): Promise<E>;
} {
  const received: AnyEventObject[] = [];
  const waiting: { type: string; resolve: (e: AnyEventObject) => void }[] = [];
  const ref = createActor(
    fromCallback<AnyEventObject>(({ receive }) => {
      receive((e) => {
        const w = waiting.findIndex((x) => x.type === e.type);
        if (w >= 0) waiting.splice(w, 1)[0]!.resolve(e);
        else received.push(e);
      });
    }),
  ).start();
  return {
    ref,
    received,
    next<E extends AnyEventObject>(type: string): Promise<E> {
      const i = received.findIndex((e) => e.type === type);
      if (i >= 0) return Promise.resolve(received.splice(i, 1)[0] as E);
      return new Promise<E>((resolve) => waiting.push({ type, resolve: resolve as (e: AnyEventObject) => void }));
    },
  };
}

/** A channel to the learner with unbounded credit, for testing producers alone; `pushed` holds what arrived. */
export function openChannel(): RolloutChannel & { pushed: ScoredRollout[]; released: number } {
  const ch = {
    pushed: [] as ScoredRollout[],
    released: 0,
    async reserve() {
      return { push: (r: ScoredRollout) => void ch.pushed.push(r), release: () => void (ch.released += 1) };
    },
    subscribe: () => ({ unsubscribe: () => undefined }),
    credit: () => Infinity,
    grant: () => undefined,
  };
  return ch;
}

// ---------------------------------------------------------------------------------------------------------------
// The whole loop

export interface TestCoordinatorOptions {
  readonly config: CoordinatorConfigInput;
  readonly policy: ScriptedPolicy | PolicyEffect;
  readonly executor?: ExecutorEffect;
  readonly learner?: FakeLearner;
  readonly probe?: ProbeEffect;
  readonly checkpoint?: CheckpointEffect;
  readonly clock?: SimulatedClock;
  readonly resume?: CheckpointData;
  /** Continue the event sequence of a previous run (resume). */
  readonly nextSeq?: number;
  readonly runId?: string;
}

/**
 * The coordinator with all five actors, scripted effects, a real `CreditChannel` to the learner and a real
 * `EventBus` (so every event is validated), on a `SimulatedClock`. `run()` starts it and advances the clock
 * until it finishes; `events` collects every run event, `actor.state` included.
 */
export function testCoordinator(options: TestCoordinatorOptions) {
  const clock = options.clock ?? new SimulatedClock();
  const policy = options.policy;
  const executor = options.executor ?? scriptedExecutor();
  const learner = options.learner ?? fakeLearner();
  const probe = options.probe ?? fakeProbe();
  const checkpoint = options.checkpoint ?? fakeCheckpointStore();
  if (options.resume) learner.policyVersion = options.resume.policyVersion;
  if ('policyVersion' in policy) {
    if (options.resume) policy.policyVersion = options.resume.policyVersion;
    learner.onPublish = (v) => void (policy.policyVersion = v);
  }
  const bus = new EventBus({
    runId: options.runId ?? 'test',
    clock: () => clock.now(),
    ...(options.nextSeq !== undefined ? { nextSeq: options.nextSeq } : {}),
    ...(options.resume ? { step: options.resume.step } : {}),
  });
  const events: RunEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  const channel = new CreditChannel<ScoredRollout>({
    name: 'scored→learner',
    capacity: options.config.queueCapacity ?? 0,
    clock: () => clock.now(),
  });
  const machine = withEffects(
    { policy, executor, learner, probe, checkpoint },
    {
      channel: fromCreditChannel(channel),
      reportQueues: () => bus.emit(queueDepthBody(channel.status())),
      events: bus,
    },
  );
  const actor = createActor(machine, {
    id: 'coordinator',
    clock,
    inspect: actorStateInspector(bus),
    input: {
      config: options.config,
      eventSeq: () => bus.nextSeq,
      clock: () => clock.now(),
      ...(options.resume ? { resume: options.resume } : {}),
    },
  });

  /** Starts the run and advances the simulated clock by `tickMs` whenever it waits, until it finishes. */
  async function run(
    runOptions: { tickMs?: number; maxTicks?: number; onTick?: () => void } = {},
  ): Promise<CoordinatorOutput> {
    const done = new Promise<CoordinatorOutput>((resolve, reject) =>
      actor.subscribe({ complete: () => resolve(actor.getSnapshot().output!), error: reject }),
    );
    let finished = false;
    void done.then(
      () => (finished = true),
      () => (finished = true),
    );
    actor.start(); // a no-op when already started
    for (let tick = 0; !finished; tick++) {
      if (tick > (runOptions.maxTicks ?? 100_000)) throw new Error('testCoordinator: the run did not finish');
      await settle();
      if (finished) break;
      runOptions.onTick?.();
      clock.increment(runOptions.tickMs ?? 10);
    }
    return done;
  }

  function eventsOf<K extends RunEventType>(type: K): RunEventOf<K>[] {
    return events.filter((e): e is RunEventOf<K> => e.type === type);
  }

  return { actor, run, events, eventsOf, bus, channel, clock, policy, executor, learner, probe, checkpoint };
}
