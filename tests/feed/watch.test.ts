// `azr watch`: the summary folded from a scripted stream, its terminal and plain renderings, and the command end to end.
import { afterEach, describe, expect, it } from 'vitest';
import { replayCommand } from '../../src/feed/replayCommand.js';
import type { FeedServer } from '../../src/feed/feedServer.js';
import { WatchState, renderBaseLine, renderStepLine, renderSummary } from '../../src/feed/watchSummary.js';
import { feedUrl, watchCommand } from '../../src/feed/watchCommand.js';
import { EventBus } from '../../src/streams/bus.js';
import { eventBody } from '../../src/streams/events.js';
import type { RunEvent } from '../../src/streams/events.js';
import { createSyntheticRun } from '../support/syntheticRun.js';
import { removeTempDirs, syntheticFeed, tempDir } from './helpers.js';

const servers: FeedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  removeTempDirs();
});

/** A two-step run, scripted event by event. */
function scriptedRun(): RunEvent[] {
  let t = 0;
  const bus = new EventBus({ runId: 'scripted-1', clock: () => t++ });
  const events: RunEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  const scored = (role: 'propose' | 'solve', task: 'deduction' | 'abduction' | 'induction', reward: number) =>
    bus.emit(
      eventBody('rollout.scored', {
        role,
        task,
        id: `r${bus.nextSeq}`,
        reward,
        advantage: 0,
        policyVersion: bus.step,
        tokens: 5,
      }),
    );
  bus.emit(
    eventBody('run.started', {
      scenario: { name: 'tiny', mode: 'sync', seed: 7, steps: 2 },
      backend: 'wasm',
      versions: {},
      resumedFromStep: null,
    }),
  );
  bus.emit(
    eventBody('probe.evaluated', {
      policyVersion: 0,
      tasks: 10,
      accuracy: { deduction: 0.5, abduction: 0.4, induction: 0.1, overall: 0.3 },
      byTier: {},
    }),
  );
  bus.setStep(1);
  scored('propose', 'deduction', 0.5);
  scored('propose', 'deduction', 0.25);
  scored('solve', 'abduction', 1);
  scored('solve', 'abduction', -0.5);
  bus.emit(
    eventBody('health', {
      validShare: 0.75,
      learnableShare: 0.5,
      zeroAdvantageShare: 0.25,
      distinctPrograms: 3,
      inputIgnoringShare: 0,
      meanLearnability: 0.375,
      reasoning: { deduction: { share: 0.25, meanLexemes: 8 }, abduction: null, induction: null },
    }),
  );
  bus.emit(
    eventBody('learner.step', { loss: 0.8125, gradNorm: 1, entropy: 1.5, policyVersion: 1, tokensPerSecond: 100 }),
  );
  bus.emit(eventBody('queue.depth', { queue: 'scored→learner', depth: 3, capacity: 8, credit: 2, stallMs: 4 }));
  bus.emit(eventBody('buffer.sizes', { sizes: { deduction: 5, abduction: 4, induction: 2 } }));
  bus.emit(
    eventBody('step.finished', { durationMs: 1000, phases: { propose: 100, solve: 150, verify: 50, learn: 700 } }),
  );
  bus.setStep(2);
  scored('solve', 'induction', 1);
  bus.emit(
    eventBody('probe.evaluated', {
      policyVersion: 2,
      tasks: 10,
      accuracy: { deduction: 0.6, abduction: 0.5, induction: 0.2, overall: 0.4 },
      byTier: {},
    }),
  );
  bus.emit(eventBody('run.finished', { reason: 'completed', steps: 2 }));
  return events;
}

describe('watch summary', () => {
  it('folds a scripted stream: rewards per role × task of the completed step, shares, probe, queues', () => {
    // Arrange
    const state = new WatchState();
    const events = scriptedRun();
    // Act
    const completed = [...state.apply(events.slice(0, 12)), ...state.apply(events.slice(12))];
    // Assert
    expect(completed).toEqual([1, 2]);
    const s = state.summary;
    expect(s.rewardStep).toBe(2);
    expect(s.rewards?.solve.induction).toEqual({ mean: 1, n: 1 });
    expect(s).toMatchObject({
      runId: null,
      step: 2,
      nextSeq: events.length,
      validShare: 0.75,
      loss: 0.8125,
      baseProbe: 0.3,
      finished: { reason: 'completed', steps: 2 },
    });
    expect(s.probe).toMatchObject({ overall: 0.4, step: 2 });
    expect(s.queues['scored→learner']).toEqual({ depth: 3, capacity: 8, credit: 2, stallMs: 4 });
    expect(s.scenario).toMatchObject({ name: 'tiny', mode: 'sync', seed: 7, steps: 2, backend: 'wasm' });
  });

  it('renders the terminal block and the plain step line', () => {
    // Arrange
    const state = new WatchState();
    const events = scriptedRun();
    const stepOneEnd = events.findIndex((e) => e.type === 'step.finished') + 1;
    const [step] = state.apply(events.slice(0, stepOneEnd));
    // Act
    const block = renderSummary(state.summary, 120);
    const line = renderStepLine(state.summary, step!);
    // Assert
    expect(block[0]).toBe('azr watch · … · tiny (sync, seed 7, backend wasm) · connecting');
    expect(block[1]).toBe('step 1/2   seq 11   policy v1');
    expect(block[3]).toBe('reward (step 1)       deduction  abduction  induction');
    expect(block[4]).toBe('  propose                 +0.38        –          –  ');
    expect(block[5]).toBe('  solve                     –        +0.25        –  ');
    expect(block).toContain(
      'valid 75%   learnable 50%   learnability 0.38   zero-advantage 25%   trace D 25% (8.0 lexemes)',
    );
    expect(block).toContain('probe 0.30 (d 0.50 · a 0.40 · i 0.10) at step 0, base 0.30');
    expect(block).toContain('queues scored→learner 3/8 credit 2');
    expect(block).toContain('time 1.00 s at step 1: learn 70% · solve 15% · propose 10% · verify 5%');
    expect(line).toBe(
      'step 1/2 | reward propose d+0.38 a – i – solve d – a+0.25 i – | valid 75% | probe 0.30 | loss 0.813 | time 1.00 s at step 1: learn 70% · solve 15% · propose 10% | queue scored→learner 3/8 credit 2',
    );
    expect(renderSummary(state.summary, 40).every((l) => l.length <= 40)).toBe(true);
  });

  it('shows the base-model build that comes before run.started: a line in the block, a plain line per event', () => {
    // Arrange: a build of 100 steps, as `azr run` logs it when the base is not cached
    let t = 0;
    const bus = new EventBus({ runId: 'build-1', clock: () => t++ });
    const events: RunEvent[] = [];
    bus.events$.subscribe((e) => events.push(e));
    const progress = (state: 'building' | 'built', trainStep: number, loss: number | null, probe: number | null) =>
      bus.emit(
        eventBody('base.progress', { state, trainStep, totalSteps: 100, loss, probe, trainSeconds: trainStep / 10 }),
      );
    progress('building', 0, null, 0.025);
    progress('building', 50, 1.7321, null);
    const state = new WatchState();
    // Act
    state.apply(events);
    const building = renderSummary(state.summary, 120);
    progress('building', 100, 1.5, 0.125);
    progress('built', 100, null, 0.125);
    state.apply(events.slice(2));
    const built = renderSummary(state.summary, 120);
    // Assert
    expect(building[2]).toBe('base model building: step 50/100   probe 3%');
    expect(built[2]).toBe('base model built after 100 steps   probe 13%');
    expect(events.map((e) => renderBaseLine(e as never))).toEqual([
      'base model step 0/100 | probe 0.03',
      'base model step 50/100 | loss 1.732',
      'base model step 100/100 | loss 1.500 | probe 0.13',
      'base model built after 100/100 steps | probe 0.13',
    ]);
  });
});

/** A text sink that records what was written. */
function sink(tty: boolean) {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text), isTTY: tty, columns: 120, text: () => chunks.join('') };
}

describe('watch command', () => {
  it('prints one plain line per step and exits 0 when the run has finished (replay of a run directory)', async () => {
    // Arrange
    const dir = tempDir();
    const run = createSyntheticRun({ dir, steps: 4, baseSteps: 3 });
    await run.run();
    const stop = new AbortController();
    let listening!: (url: string) => void;
    const listens = new Promise<string>((resolve) => (listening = resolve));
    const serving = replayCommand(dir, {
      port: 0,
      out: sink(false),
      signal: stop.signal,
      onListening: (f) => listening(f.wsUrl),
    });
    const url = await listens;
    const out = sink(false);
    const err = sink(false);
    // Act
    const code = await watchCommand(url.replace('ws://', 'http://'), { out, err, handleSignals: false });
    stop.abort();
    // Assert
    expect(code).toBe(0);
    expect(await serving).toBe(0);
    const lines = out.text().trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('step '))).toHaveLength(4);
    // the base-model build the run began with, one line per base.progress event, before the first step
    expect(lines.slice(0, 5)).toEqual([
      'base model step 0/3 | probe 0.02',
      'base model step 1/3 | loss 1.500',
      'base model step 2/3 | loss 1.200',
      'base model step 3/3 | loss 1.000 | probe 0.09',
      'base model built after 3/3 steps | probe 0.09',
    ]);
    expect(lines[5]).toMatch(
      /^step 1\/4 \| reward propose d[+-]\d\.\d\d .* \| valid \d+% \| probe 0\.\d\d \| loss \d\.\d{3} \| time \d\.\d\d s at step 1: propose 38% · solve 38% · learn 25% \| queue /,
    );
    expect(lines.at(-1)).toBe('run synthetic finished: completed after 4 steps');
    expect(out.text()).not.toContain('\x1b[');
    expect(err.text()).toContain('connected to');
  });

  it('redraws one block in place on a terminal while a live run goes on', async () => {
    // Arrange
    const { run, feed } = await syntheticFeed({
      steps: 5,
      pause: () => new Promise((resolve) => setTimeout(resolve, 2)),
    });
    servers.push(feed);
    const out = sink(true);
    const watching = watchCommand(feed.wsUrl, { out, err: sink(false), refreshMs: 20, handleSignals: false });
    // Act
    await run.run();
    const code = await watching;
    // Assert
    expect(code).toBe(0);
    const text = out.text();
    expect(text).toContain('\x1b[13A\r\x1b[0J'); // back over the 13-line block, then clear
    const lastBlock = text.slice(text.lastIndexOf('\x1b[0J') + 4);
    expect(lastBlock).toContain('azr watch · synthetic · synthetic (sync, seed 1, backend none) · finished: completed');
    expect(lastBlock).toContain('step 5/5');
    expect(lastBlock).toMatch(/reward \(step 5\)/);
    expect(text.trimEnd().split('\n').at(-1)).toBe('run synthetic finished: completed after 5 steps');
  });

  it('exits 1 when nothing answers, and when the token is refused', async () => {
    const err = sink(false);
    expect(
      await watchCommand('ws://127.0.0.1:9/', { out: sink(false), err, maxAttempts: 1, handleSignals: false }),
    ).toBe(1);
    expect(err.text()).toContain('cannot watch ws://127.0.0.1:9/');

    const { feed } = await syntheticFeed({ steps: 1 }, { token: 'right' });
    servers.push(feed);
    const err2 = sink(false);
    expect(await watchCommand(feed.wsUrl, { token: 'wrong', out: sink(false), err: err2, handleSignals: false })).toBe(
      1,
    );
    expect(err2.text()).toContain('401');
  });

  it('accepts the dashboard address and bare host:port', () => {
    expect(feedUrl('http://127.0.0.1:7341/')).toBe('ws://127.0.0.1:7341/');
    expect(feedUrl('https://example.org/')).toBe('wss://example.org/');
    expect(feedUrl('127.0.0.1:7341')).toBe('ws://127.0.0.1:7341');
    expect(feedUrl('ws://h:1/')).toBe('ws://h:1/');
  });
});
