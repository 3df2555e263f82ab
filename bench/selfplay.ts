// `npm run bench -- selfplay [--steps N] [--reps R]`: the default scenario's self-play step against its parts.
//
// Runs `scenarios/default.yaml` for N steps (no probe; its cached base model, or — when that is absent — a base with
// the same shapes trained for a few steps), recording every rollout, executor and learner call of the run. Then it
// replays the same work in isolation on a fresh copy of the base: each step's rollouts (same requests, same random
// streams), its executor batches, its policy step, and a supervised step on the same sequences (the policy batch's
// prompts + completions, loss on the completions, plus the SFT batch). It prints medians (min–max) over steps 2…N of:
//   steps/s, rollout tokens/s, learner tokens/s (policy vs supervised on the same sequences: learnerRatio), and the
//   step time against isolated rollouts + executor + learner on the same work (overheadRatio).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Rng } from '../src/azr/index.js';
import { loadBaseModel } from '../src/pretrain/baseModel.js';
import { baseModelDir } from '../src/pretrain/baseModelCache.js';
import { ExecutorService } from '../src/services/executorService.js';
import { LabelledSftSource, policyBatch } from '../src/services/learnerService.js';
import { PolicyService } from '../src/services/policyService.js';
import { pretrainDataOptions } from '../src/pretrain/pretrainData.js';
import { runSelfPlay } from '../src/run/runner.js';
import { checkRunInputs } from '../src/run/runInputs.js';
import { formatBackendReport, initBackend } from '../src/gpu/backend.js';
import { GradientWorkers } from '../src/gpu/gradientWorkers.js';
import { Learner, type PolicySample, type SupervisedSample } from '../src/gpu/learner.js';
import { Gpt } from '../src/gpu/model.js';
import { OrtRollout } from '../src/gpu/rollout.js';
import { WeightBoard } from '../src/gpu/weights.js';
import type { CheckRequest, Effects, GenerateInput, LearnInput, ValidateRequest } from '../src/machines/effects.js';
import { SandboxPool } from '../src/sandbox/index.js';
import { loadRunScenario, parseOverride } from '../src/config/load.js';
import type { RunScenario } from '../src/config/schema.js';
import { readEventLog } from '../src/streams/eventLog.js';
import type { RunEventOf } from '../src/streams/events.js';
import { median } from '../src/streams/phaseTimes.js';

const DEFAULT_SCENARIO = 'scenarios/default.yaml';
/** Pretraining steps of the stand-in base when the default's is not cached (the default's shapes, little training). */
const STAND_IN_STEPS = 40;

type ExecutorCall =
  { kind: 'validate'; requests: readonly ValidateRequest[] } | { kind: 'check'; requests: readonly CheckRequest[] };

/** What one training step asked of its effects, and how long the run's calls took. */
interface StepWork {
  generates: { input: GenerateInput; ms: number; tokens: number }[];
  executor: { call: ExecutorCall; ms: number }[];
  learn: { input: LearnInput; ms: number } | null;
}

const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const range = (xs: readonly number[], digits = 0): string =>
  `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
  return v;
}

/** Wraps the run's effects so that every call of step ≥ 1 is recorded with its duration. */
function recorder(work: Map<number, StepWork>, now: () => number): (e: Effects) => Effects {
  const at = (step: number): StepWork => {
    let w = work.get(step);
    if (w === undefined) work.set(step, (w = { generates: [], executor: [], learn: null }));
    return w;
  };
  let step = 0;
  const timed = async <T>(f: () => Promise<T>, done: (ms: number, value: T) => void): Promise<T> => {
    const t = now();
    const value = await f();
    done(now() - t, value);
    return value;
  };
  return (e) => ({
    ...e,
    policy: {
      generate: (input) => {
        step = input.step;
        return timed(
          () => e.policy.generate(input),
          (ms, out) =>
            input.step > 0 &&
            at(input.step).generates.push({ input, ms, tokens: out.reduce((n, c) => n + (c.ok ? c.tokens : 0), 0) }),
        );
      },
    },
    executor: {
      validate: (requests) =>
        timed(
          () => e.executor.validate(requests),
          (ms) => step > 0 && at(step).executor.push({ call: { kind: 'validate', requests }, ms }),
        ),
      check: (requests) =>
        timed(
          () => e.executor.check(requests),
          (ms) => step > 0 && at(step).executor.push({ call: { kind: 'check', requests }, ms }),
        ),
    },
    learner: {
      ...e.learner,
      learn: (input) =>
        timed(
          () => e.learner.learn(input),
          (ms) => (at(input.step).learn = { input, ms }),
        ),
      ...(e.learner.publish ? { publish: (v: number) => e.learner.publish!(v) } : {}),
    },
  });
}

/** The policy batch as supervised sequences: prompt + completion, loss on the completion. */
function asSupervised(batch: readonly PolicySample[]): SupervisedSample[] {
  return batch.map((x) => ({
    tokens: [...x.prompt, ...x.tokens],
    lossMask: [...x.prompt.map(() => 0), ...x.tokens.map(() => 1)],
  }));
}

export async function main(args: string[]): Promise<void> {
  const steps = arg(args, '--steps', 8);
  const reps = arg(args, '--reps', 2);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const backend = await initBackend({ force: 'wasm' });
  log(formatBackendReport(backend));
  log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (shared: other work may skew figures)`,
  );

  // ---- the scenario and its base model ---------------------------------------------------------------------------
  const overrides = [`selfPlay.steps=${steps}`, 'selfPlay.probeEvery=0', 'selfPlay.checkpointEvery=0'].map(
    parseOverride,
  );
  let scenario: RunScenario = await loadRunScenario(DEFAULT_SCENARIO, overrides);
  const { exclusion } = await checkRunInputs(scenario);
  const out = mkdtempSync(path.join(tmpdir(), 'azr-bench-selfplay-'));
  const cached = baseModelDir(scenario, path.join('runs', '.cache'), exclusion);
  if (existsSync(path.join(cached, 'checkpoint.json'))) {
    scenario = { ...scenario, base: cached };
    log(`base: ${cached} (the default scenario's, cached)`);
  } else {
    scenario = { ...scenario, pretrain: { ...scenario.pretrain, steps: STAND_IN_STEPS, minutes: null } };
    log(
      `base: the default's is not cached (runs/.cache); a stand-in with its shapes, ${STAND_IN_STEPS} pretraining steps, is built in ${out}`,
    );
  }
  log(
    `workload: ${DEFAULT_SCENARIO}, ${steps} steps (measured: 2…${steps}), learner threads ${scenario.learner.threads}; replays ${reps}× each\n`,
  );

  try {
    // ---- the run, with every effect call recorded ----------------------------------------------------------------
    const work = new Map<number, StepWork>();
    const now = () => performance.now();
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    const run = await runSelfPlay({
      scenario,
      out,
      now,
      signals: false,
      stderr: quiet,
      stdout: quiet,
      tty: false,
      instrument: recorder(work, now),
    });
    if (run.reason !== 'completed')
      throw new Error(`the run ended ${run.reason}${run.message ? `: ${run.message}` : ''}`);
    const finished: RunEventOf<'step.finished'>[] = [];
    for await (const e of readEventLog(path.join(run.runDir, 'events.jsonl')))
      if (e.type === 'step.finished') finished.push(e);
    const measured = Array.from({ length: steps - 1 }, (_, i) => i + 2);
    // the work replayed is the step's own: probe and checkpoint time (the last step's checkpoint) are left out
    const stepMs = new Map(
      finished.map((e) => [e.step, e.durationMs - (e.phases?.probe ?? 0) - (e.phases?.checkpoint ?? 0)]),
    );

    // ---- the same work in isolation on a fresh copy of the base ------------------------------------------------------
    const baseDir = scenario.base ?? baseModelDir(scenario, path.join(out, '.cache'), exclusion);
    const { model } = await loadBaseModel(baseDir);
    const config = model.config;
    const reference =
      scenario.learner.klCoef > 0
        ? new Gpt(config, model.readWeights(), { trainable: false, name: 'bench-reference' })
        : undefined;
    const l = scenario.learner;
    const learner = new Learner(
      model,
      {
        lr: l.lr,
        weightDecay: l.weightDecay,
        maxGradNorm: l.maxGradNorm,
        temperature: scenario.selfPlay.temperature,
        ppoClip: l.ppoClip,
        ppoEpochs: l.ppoEpochs,
        entropyCoef: l.entropyCoef,
        klCoef: l.klCoef,
        sftCoef: l.sftCoef,
        aggregation: l.aggregation,
      },
      reference ? { reference } : {},
    );
    const supervised = new Learner(new Gpt(config, model.readWeights(), { name: 'bench-supervised' }), { lr: l.lr });
    // the same policy steps on this thread alone (for the two-thread speed-up)
    const single = new Learner(
      new Gpt(config, model.readWeights(), { name: 'bench-single' }),
      learner.config,
      reference ? { reference } : {},
    );
    const threads =
      l.threads > 1
        ? await GradientWorkers.start(
            config,
            backend.chosen,
            l.threads - 1,
            reference ? { reference: reference.readWeights() } : {},
          )
        : null;
    const board = new WeightBoard();
    learner.publish(board);
    const rollout = await OrtRollout.create(config, board, { intraOpThreads: scenario.policy.intraOpThreads });
    const policy = new PolicyService(rollout, {
      budgets: scenario.policy.budgets,
      batchSize: scenario.policy.rolloutBatch,
      decoding: scenario.policy.decoding,
    });
    const pool = new SandboxPool({
      workers: scenario.executor.workers,
      limits: { timeoutMs: scenario.executor.timeoutMs },
    });
    const sft =
      l.sftCoef > 0
        ? new LabelledSftSource(
            pool,
            new Rng(scenario.seed).split('sft'),
            pretrainDataOptions(scenario.pretrain, config.contextLength, exclusion, {
              batchSize: l.sftBatch,
              prefetch: 1,
            }),
          )
        : null;
    try {
      // every step's calls, in the run's order (the executor's random inputs are drawn in that order)
      const executor = new ExecutorService(pool, {
        ...scenario.executor,
        rng: new Rng(scenario.seed).split('executor-inputs'),
      });
      const isolated = new Map<number, { rollout: number; executor: number; tokens: number }>();
      for (const [step, w] of [...work.entries()].sort((a, b) => a[0] - b[0])) {
        let rolloutMs = 0;
        let executorMs = 0;
        let tokens = 0;
        for (const g of w.generates) {
          const t = now();
          const outs = await policy.generate(g.input);
          rolloutMs += now() - t;
          tokens += outs.reduce((n, c) => n + (c.ok ? c.tokens : 0), 0);
        }
        for (const { call } of w.executor) {
          const t = now();
          if (call.kind === 'validate') await executor.validate(call.requests);
          else await executor.check(call.requests);
          executorMs += now() - t;
        }
        isolated.set(step, { rollout: rolloutMs, executor: executorMs, tokens });
      }

      // the learner: each step's policy batch, then a supervised step on the same sequences, alternating
      const policyMs = new Map<number, number[]>();
      const supervisedMs = new Map<number, number[]>();
      const singleMs = new Map<number, number[]>();
      const processed = new Map<number, number>();
      for (let rep = 0; rep <= reps; rep++)
        for (const step of [1, ...measured]) {
          const input = work.get(step)?.learn?.input;
          if (input === undefined) continue;
          const batch = policyBatch(input);
          const sftBatch = sft !== null ? await sft.batch(step) : [];
          const same = [...asSupervised(batch), ...sftBatch];
          let t = now();
          const m =
            threads !== null
              ? await learner.policyStepParallel(batch, sftBatch, threads)
              : learner.policyStep(batch, sftBatch);
          const p = now() - t;
          t = now();
          if (threads !== null) await supervised.supervisedStepParallel(same, threads);
          else supervised.supervisedStep(same);
          const s = now() - t;
          t = now();
          if (threads !== null) single.policyStep(batch, sftBatch);
          const one = now() - t;
          if (rep === 0) continue; // warm-up pass: first shapes, worker start
          if (threads !== null) singleMs.set(step, [...(singleMs.get(step) ?? []), one]);
          processed.set(step, m.tokensPerSecond * m.seconds);
          policyMs.set(step, [...(policyMs.get(step) ?? []), p]);
          supervisedMs.set(step, [...(supervisedMs.get(step) ?? []), s]);
        }

      // ---- figures ---------------------------------------------------------------------------------------------------
      const have = measured.filter((s) => stepMs.has(s) && isolated.has(s) && policyMs.has(s));
      if (have.length === 0) throw new Error('no measured step recorded all of its work');
      const stepsPerS = have.map((s) => 1000 / stepMs.get(s)!);
      const rolloutRate = have.map((s) => isolated.get(s)!.tokens / (isolated.get(s)!.rollout / 1000));
      const policyRate = have.map((s) => processed.get(s)! / (median(policyMs.get(s)!) / 1000));
      const supervisedRate = have.map((s) => processed.get(s)! / (median(supervisedMs.get(s)!) / 1000));
      const learnerRatio = have.map((s) => median(supervisedMs.get(s)!) / median(policyMs.get(s)!));
      const parts = have.map((s) => isolated.get(s)!.rollout + isolated.get(s)!.executor + median(policyMs.get(s)!));
      const overhead = have.map((s, i) => stepMs.get(s)! / parts[i]!);
      const runLearnMs = have.map((s) => work.get(s)!.learn!.ms);
      const parallel = threads !== null ? have.map((s) => median(singleMs.get(s)!) / median(policyMs.get(s)!)) : null;
      log(
        `steps/s                              ${range(stepsPerS, 2)}   (step ${range(have.map((s) => stepMs.get(s)!))} ms)`,
      );
      log(
        `rollout tokens/s (isolated)          ${range(rolloutRate)}   (rollouts ${range(have.map((s) => isolated.get(s)!.rollout))} ms, executor ${range(have.map((s) => isolated.get(s)!.executor))} ms per step)`,
      );
      log(
        `learner tokens/s, policy step        ${range(policyRate)}   (${range(have.map((s) => median(policyMs.get(s)!)))} ms; in the run ${range(runLearnMs)} ms)`,
      );
      log(`learner tokens/s, supervised step    ${range(supervisedRate)}   (the same sequences)`);
      log(`  learnerRatio (policy / supervised) ${range(learnerRatio, 2)}`);
      if (parallel !== null)
        log(
          `policy step, ${l.threads} threads / 1 thread    ${range(parallel, 2)}   (1 thread ${range(have.map((s) => median(singleMs.get(s)!)))} ms)`,
        );
      log(`step / isolated parts (overhead)     ${range(overhead, 2)}   (parts ${range(parts)} ms)\n`);
      log(
        JSON.stringify({
          bench: 'selfplay',
          learnerRatio: +median(learnerRatio).toFixed(3),
          overheadRatio: +median(overhead).toFixed(3),
          ...(parallel !== null ? { parallelRatio: +median(parallel).toFixed(3) } : {}),
          stepMs: +median(have.map((s) => stepMs.get(s)!)).toFixed(1),
        }),
      );
    } finally {
      await sft?.drain();
      await threads?.close();
      rollout.release();
      await pool.close();
      learner.dispose();
      supervised.dispose();
      single.dispose();
      reference?.dispose();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
