// What `azr run` shows while it runs: a progress bar on a terminal, one plain summary line per step otherwise — and the per-step digest the report is built from.

import type { Writable } from 'node:stream';
import { SingleBar } from 'cli-progress';
import type { RunEvent, RunEventBodyOf } from '../streams/events.js';
import { phaseBreakdown, type PhaseTimes } from '../streams/phaseTimes.js';
import { probePointOf, type ProbePoint } from '../streams/probePoint.js';
import type { PretrainProgress, PretrainResult } from '../pretrain/pretrain.js';

/** One step, digested from its events. */
export interface StepDigest {
  step: number;
  /** Mean reward per role over the step's scored rollouts (null: none). */
  proposeReward: number | null;
  solveReward: number | null;
  validShare: number | null;
  learnableShare: number | null;
  zeroAdvantageShare: number | null;
  distinctPrograms: number | null;
  inputIgnoringShare: number | null;
  meanLearnability: number | null;
  /** Deduction solver rollouts: share that reasoned first, and mean trace length in lexemes (null: none). */
  traceShare: number | null;
  traceLexemes: number | null;
  loss: number | null;
  kl: number | null;
  entropy: number | null;
  probe: number | null;
  durationMs: number | null;
  /** Milliseconds per phase (step.finished.phases); null when the step did not report them. */
  phases: PhaseTimes | null;
  errors: number;
}

export type { ProbePoint } from '../streams/probePoint.js';

const emptyDigest = (step: number): StepDigest => ({
  step,
  proposeReward: null,
  solveReward: null,
  validShare: null,
  learnableShare: null,
  zeroAdvantageShare: null,
  distinctPrograms: null,
  inputIgnoringShare: null,
  meanLearnability: null,
  traceShare: null,
  traceLexemes: null,
  loss: null,
  kl: null,
  entropy: null,
  probe: null,
  durationMs: null,
  phases: null,
  errors: 0,
});

/** Folds run events into step digests and the probe curve (what the progress lines and report.md show). */
export class RunDigest {
  readonly steps: StepDigest[] = [];
  readonly probes: ProbePoint[] = [];
  private current: StepDigest | null = null;
  private sums: Record<'propose' | 'solve', [number, number]> = { propose: [0, 0], solve: [0, 0] };

  /** Adds an event; returns the digest of a step that just finished (its step.finished), if any. */
  push(e: RunEvent): StepDigest | null {
    if (e.step === 0 && e.type !== 'probe.evaluated') return null; // seeding
    if (this.current === null || this.current.step !== e.step) {
      this.current = emptyDigest(e.step);
      this.sums = { propose: [0, 0], solve: [0, 0] };
    }
    const d = this.current;
    switch (e.type) {
      case 'rollout.scored': {
        const s = this.sums[e.role];
        s[0] += e.reward;
        s[1] += 1;
        d.proposeReward = this.sums.propose[1] > 0 ? this.sums.propose[0] / this.sums.propose[1] : null;
        d.solveReward = this.sums.solve[1] > 0 ? this.sums.solve[0] / this.sums.solve[1] : null;
        break;
      }
      case 'health':
        Object.assign(d, {
          validShare: e.validShare,
          learnableShare: e.learnableShare,
          zeroAdvantageShare: e.zeroAdvantageShare,
          distinctPrograms: e.distinctPrograms,
          inputIgnoringShare: e.inputIgnoringShare,
          meanLearnability: e.meanLearnability,
          traceShare: e.reasoning?.deduction?.share ?? null,
          traceLexemes: e.reasoning?.deduction?.meanLexemes ?? null,
        });
        break;
      case 'learner.step':
        d.loss = e.loss;
        d.kl = e.kl ?? null;
        d.entropy = e.entropy;
        break;
      case 'probe.evaluated':
        this.probes.push(probePointOf(e));
        d.probe = e.accuracy.overall;
        break;
      case 'error':
        d.errors++;
        break;
      case 'step.finished':
        d.durationMs = e.durationMs;
        d.phases = e.phases ?? null;
        this.steps.push(d);
        return d;
      default:
        break;
    }
    return null;
  }
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '–' : `${(100 * x).toFixed(0)}%`;
const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined ? '–' : x.toFixed(digits);

/** One plain line for a finished step. */
function stepLine(d: StepDigest, total: number): string {
  return (
    `step ${d.step}/${total}  reward propose ${num(d.proposeReward, 2)} solve ${num(d.solveReward, 2)}  valid ${pct(d.validShare)}  ` +
    `learnable ${pct(d.learnableShare)}  zero-adv ${pct(d.zeroAdvantageShare)}  programs ${d.distinctPrograms ?? '–'}  loss ${num(d.loss)}` +
    `${d.kl !== null ? `  kl ${num(d.kl, 4)}` : ''}${d.probe !== null ? `  probe ${pct(d.probe)}` : ''}  ${((d.durationMs ?? 0) / 1000).toFixed(1)} s` +
    `${d.phases !== null ? ` (${phaseBreakdown(d.phases, 3)})` : ''}`
  );
}

/** Progress on stderr: a bar on a TTY (updated per step), plain lines otherwise; messages interrupt either. */
export class RunProgress {
  private bar: SingleBar | null = null;

  constructor(
    private readonly stderr: Writable,
    private readonly tty: boolean,
    private readonly total: number,
  ) {}

  /** A message line (the bar is stopped first and restarted at the next step). */
  line(text: string): void {
    this.bar?.stop();
    this.bar = null;
    this.stderr.write(text + '\n');
  }

  step(d: StepDigest): void {
    if (!this.tty) {
      this.stderr.write(stepLine(d, this.total) + '\n');
      return;
    }
    const payload = {
      valid: pct(d.validShare),
      learnable: pct(d.learnableShare),
      zero: pct(d.zeroAdvantageShare),
      solve: num(d.solveReward, 2),
      probe: pct(d.probe),
    };
    if (this.bar === null) {
      this.bar = new SingleBar(
        {
          stream: this.stderr as NodeJS.WritableStream,
          format:
            'self-play [{bar}] {value}/{total} | solve {solve} | valid {valid} | learnable {learnable} | zero-adv {zero} | probe {probe} | {eta_formatted}',
          hideCursor: true,
        },
        undefined,
      );
      this.bar.start(this.total, d.step, payload);
    } else this.bar.update(d.step, payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/**
 * The base-model build as `base.progress` events, so the feed and the log show it: one at each probe (the first at
 * step 0), one every `every` training steps between them (default: 50 over a step budget, else every 25 steps), and
 * `built` at the end. `loss` is the mean over the steps since the previous event.
 */
export class BuildProgressEvents {
  private lossSum = 0;
  private lossCount = 0;
  private readonly every: number;

  /** `probeEvery`: the build's `pretrain.probeEvery` (0 = probes at start and end only). */
  constructor(
    private readonly emit: (body: RunEventBodyOf<'base.progress'>) => void,
    private readonly totalSteps: number | null,
    private readonly probeEvery = 0,
  ) {
    this.every = totalSteps === null ? 25 : Math.max(1, Math.ceil(totalSteps / 50));
  }

  push(p: PretrainProgress): void {
    if (p.kind === 'step') {
      this.lossSum += p.loss;
      this.lossCount++;
      // a probe follows the last step and every probeEvery-th: it reports that step (one event per step)
      const probed = p.step === this.totalSteps || (this.probeEvery > 0 && p.step % this.probeEvery === 0);
      if (p.step % this.every === 0 && !probed) this.send(p.step, null, p.trainSeconds);
    } else if (p.kind === 'probe') this.send(p.point.step, p.point.overall, p.point.trainSeconds);
  }

  /** After the build: `built`, with its last step and end probe. */
  built(result: PretrainResult): void {
    this.emit({
      type: 'base.progress',
      state: 'built',
      trainStep: result.steps,
      totalSteps: this.totalSteps,
      loss: null,
      probe: result.probeEnd.accuracy.overall,
      trainSeconds: result.trainSeconds,
    });
  }

  private send(trainStep: number, probe: number | null, trainSeconds: number): void {
    const loss = this.lossCount > 0 ? this.lossSum / this.lossCount : null;
    this.lossSum = 0;
    this.lossCount = 0;
    this.emit({
      type: 'base.progress',
      state: 'building',
      trainStep,
      totalSteps: this.totalSteps,
      loss,
      probe,
      trainSeconds,
    });
  }
}
