// BuildProgressEvents: the base-model build as base.progress events (how often, and the loss window between them).
import { describe, expect, it } from 'vitest';
import type { CurvePoint, PretrainProgress, PretrainResult } from '../../src/pretrain/pretrain.js';
import { BuildProgressEvents } from '../../src/run/runProgress.js';
import type { RunEventBodyOf } from '../../src/streams/events.js';

const step = (n: number): PretrainProgress => ({
  kind: 'step',
  step: n,
  loss: n,
  lr: 1e-3,
  trainSeconds: n / 10,
  tokensPerSecond: 1,
});
const probe = (n: number, overall: number): PretrainProgress => ({
  kind: 'probe',
  point: {
    step: n,
    trainSeconds: n / 10,
    seconds: n / 10,
    cpuSeconds: null,
    overall,
    deduction: null,
    abduction: null,
    induction: null,
    loss: null,
  } satisfies CurvePoint,
  report: {} as never,
});

function build(totalSteps: number | null, steps: number, probes: Record<number, number>, probeEvery = 0) {
  const events: RunEventBodyOf<'base.progress'>[] = [];
  const b = new BuildProgressEvents((e) => events.push(e), totalSteps, probeEvery);
  for (let k = 0; k <= steps; k++) {
    if (k > 0) b.push(step(k));
    const at = probes[k];
    if (at !== undefined) b.push(probe(k, at));
  }
  return { events, b };
}

describe('BuildProgressEvents', () => {
  it('over a step budget: one event every 2% of it and at each probe, the loss the mean since the previous event', () => {
    // Arrange / Act: 200 steps → every 4; probes at 0 and 200 (start and end)
    const { events, b } = build(200, 200, { 0: 0.02, 200: 0.11 });
    b.built({ steps: 200, trainSeconds: 20, probeEnd: { accuracy: { overall: 0.11 } } } as unknown as PretrainResult);
    // Assert
    expect(events.map((e) => e.trainStep)).toEqual([0, ...Array.from({ length: 49 }, (_, i) => 4 * (i + 1)), 200, 200]);
    expect(events[0]).toEqual({
      type: 'base.progress',
      state: 'building',
      trainStep: 0,
      totalSteps: 200,
      loss: null,
      probe: 0.02,
      trainSeconds: 0,
    });
    expect(events[1]).toMatchObject({ trainStep: 4, loss: (1 + 2 + 3 + 4) / 4, probe: null, trainSeconds: 0.4 });
    expect(events[2]!.loss).toBe((5 + 6 + 7 + 8) / 4);
    expect(events.at(-2)).toMatchObject({
      state: 'building',
      trainStep: 200,
      loss: (197 + 198 + 199 + 200) / 4,
      probe: 0.11,
    });
    expect(events.at(-1)).toEqual({
      type: 'base.progress',
      state: 'built',
      trainStep: 200,
      totalSteps: 200,
      loss: null,
      probe: 0.11,
      trainSeconds: 20,
    });
  });

  it('with probeEvery, a probe step gets one event, the probe’s, with the loss since the previous event', () => {
    // 200 steps → every 4; probes every 10 (at 20, 40, … a throttle step and a probe step coincide)
    const probes = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [10 * i, i / 100]));
    const { events } = build(200, 200, probes, 10);
    const steps = events.map((e) => e.trainStep);
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps.slice(0, 8)).toEqual([0, 4, 8, 10, 12, 16, 20, 24]);
    expect(events.find((e) => e.trainStep === 20)).toMatchObject({ probe: 0.02, loss: (17 + 18 + 19 + 20) / 4 });
    expect(events.find((e) => e.trainStep === 12)).toMatchObject({ probe: null, loss: (11 + 12) / 2 });
  });

  it('over a minutes budget (no step total): one event every 25 steps', () => {
    const { events } = build(null, 60, { 0: 0.02 });
    expect(events.map((e) => [e.trainStep, e.totalSteps])).toEqual([
      [0, null],
      [25, null],
      [50, null],
    ]);
    expect(events[2]!.loss).toBe((26 + 50) / 2);
  });
});
