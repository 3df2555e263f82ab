// The base-model phase: next-token training on executor-labelled task-language programs, probed at start and end.
//
//   seed ─┬─ split('init') → GPT initial weights
//         └─ split('data') → chunk k: programs + inputs → executor → examples of the formats → length-bucketed batches
//   probe (step 0) → for each step: lr schedule, next batch, one supervised AdamW step → probe (every N, and at the end)
//   → base checkpoint (weights, model config, vocabulary fingerprint, the pretrain config, the probe curve)
//
// With a step budget the run is deterministic: batch k depends only on the seed and k, never on timing.

import { readFileSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ProbeTask } from '../azr/probe.js';
import { Rng } from '../azr/rng.js';
import { initBackend, type BackendName, type BackendReport } from '../gpu/backend.js';
import { Learner } from '../gpu/learner.js';
import { Gpt, GptConfigSchema, type GptConfig } from '../gpu/model.js';
import { GradientWorkers } from '../gpu/gradientWorkers.js';
import { tokenizer } from '../gpu/tokenizer.js';
import { SandboxPool } from '../sandbox/index.js';
import type { PretrainScenario } from '../config/pretrainConfig.js';
import { BASE_KIND, loadBaseModel, saveBaseModel, vocabFingerprint } from './baseModel.js';
import { PretrainDataStream, pretrainDataOptions, ProbeExclusion, type ChunkStats } from './pretrainData.js';
import { loadProbeTasks, ProbeEvaluator, type ProbeReport } from './probeEval.js';

/**
 * CPU seconds the main thread (the trainer) has used, from /proc on Linux, else null. On a shared machine this
 * estimates what the wall clock would read on an idle one: the trainer is single-threaded and the bottleneck.
 */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/** A probe report without its per-task verdicts and answers. */
const figuresOf = (r: ProbeReport) => ({ ...r, results: undefined });

/** One point of the learning curve. */
export interface CurvePoint {
  readonly step: number;
  /** Training seconds so far (probe evaluations not counted). */
  readonly trainSeconds: number;
  /** Wall-clock seconds since the run started. */
  readonly seconds: number;
  /** Main-thread CPU seconds since the run started (Linux; null elsewhere): the wall clock of an idle machine. */
  readonly cpuSeconds: number | null;
  readonly overall: number;
  readonly deduction: number | null;
  readonly abduction: number | null;
  readonly induction: number | null;
  /** Mean training loss over the steps since the previous point (null at step 0). */
  readonly loss: number | null;
}

/** What the run reports as it goes (the command turns these into a progress bar or plain lines). */
export type PretrainProgress =
  | { readonly kind: 'backend'; readonly report: BackendReport }
  | {
      readonly kind: 'start';
      readonly steps: number | null;
      readonly minutes: number | null;
      readonly parameters: number;
      readonly threads: number;
    }
  | {
      readonly kind: 'step';
      readonly step: number;
      readonly loss: number;
      readonly lr: number;
      readonly trainSeconds: number;
      readonly tokensPerSecond: number;
    }
  | { readonly kind: 'probe'; readonly point: CurvePoint; readonly report: ProbeReport };

interface PretrainOptions {
  readonly scenario: PretrainScenario;
  /** Directory of the base checkpoint (created). */
  readonly out: string;
  readonly onProgress?: (p: PretrainProgress) => void;
  /** The probe set evaluated at start and end (default: scenarios/probe.jsonl). */
  readonly probeTasks?: readonly ProbeTask[];
  /** The programs never trained on (default: those of `probeTasks`); pass the whole set when evaluating a sample. */
  readonly exclusion?: ProbeExclusion;
  /** Tensor backend (default: the best that loads). */
  readonly backend?: BackendName;
  /** Decoding engine of the probe (default onnxruntime). */
  readonly probeEngine?: 'ort' | 'tfjs';
  /** Clock for budgets and metrics only (default performance.now, ms). */
  readonly now?: () => number;
  /** Checked between training steps: once aborted, the run stops there and rejects with the signal's reason (no base checkpoint is written). */
  readonly signal?: AbortSignal;
}

export interface PretrainResult {
  readonly probeStart: ProbeReport;
  readonly probeEnd: ProbeReport;
  readonly steps: number;
  readonly seconds: number;
  readonly trainSeconds: number;
  /** Main-thread CPU seconds of the whole run (null off Linux). */
  readonly cpuSeconds: number | null;
  readonly curve: readonly CurvePoint[];
  readonly data: ChunkStats;
  readonly backend: BackendReport;
}

/** Learning rate at `progress` ∈ [0, 1] of the budget: linear warm-up over `warmupSteps`, then cosine from lr to minLr. */
export function learningRate(step: number, progress: number, p: PretrainScenario['pretrain']): number {
  if (step <= p.warmupSteps) return (p.lr * step) / Math.max(1, p.warmupSteps);
  const x = Math.min(1, Math.max(0, progress));
  return p.minLr + (p.lr - p.minLr) * 0.5 * (1 + Math.cos(Math.PI * x));
}

/** The model config a scenario asks for, with the tokenizer's vocabulary. */
export function modelConfig(scenario: PretrainScenario): GptConfig {
  const m = scenario.model;
  return {
    vocabSize: tokenizer.vocabSize,
    contextLength: m.contextLength,
    layers: m.layers,
    width: m.width,
    heads: m.heads,
    positions: m.positions,
    ...(m.outputHead === undefined ? {} : { outputHead: m.outputHead }),
  };
}

/** `pretrain.init` names no base this build can start from. */
export class InitBaseError extends Error {
  override readonly name = 'InitBaseError';
}

/** The model a build continues from (`pretrain.init`): a base checkpoint of exactly the scenario's model config. */
async function initialModel(dir: string, config: GptConfig): Promise<Gpt> {
  let model: Gpt;
  try {
    ({ model } = await loadBaseModel(dir));
  } catch (e) {
    throw new InitBaseError(`pretrain.init: no base model in ${dir} (${(e as Error).message})`);
  }
  const want = JSON.stringify(GptConfigSchema.parse(config));
  const have = JSON.stringify(model.config);
  if (want !== have) {
    model.dispose();
    throw new InitBaseError(`pretrain.init: the base in ${dir} has the model ${have}, not the scenario's ${want}`);
  }
  return model;
}

/** Runs the base-model phase and writes the base checkpoint to `options.out`. */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const elapsed = () => (now() - started) / 1000;
  const cpuStart = mainThreadCpuSeconds();
  const cpuElapsed = () => {
    const c = mainThreadCpuSeconds();
    return c === null || cpuStart === null ? null : c - cpuStart;
  };
  const { scenario } = options;
  const p = scenario.pretrain;
  const budgetSteps = p.minutes === null ? p.steps : null;
  const emit = options.onProgress ?? (() => undefined);

  const backend = await initBackend(options.backend === undefined ? {} : { force: options.backend });
  emit({ kind: 'backend', report: backend });
  const config = modelConfig(scenario);
  const root = new Rng(scenario.seed);
  const model = p.init === undefined ? Gpt.init(config, root.split('init')) : await initialModel(p.init, config);
  const pool = new SandboxPool({ workers: p.workers });
  let data: PretrainDataStream | null = null;
  let evaluator: ProbeEvaluator | null = null;
  let learner: Learner | null = null;
  let threads: GradientWorkers | null = null;
  try {
    const tasks = options.probeTasks ?? (await loadProbeTasks());
    data = new PretrainDataStream(
      pool,
      root.split('data'),
      pretrainDataOptions(p, config.contextLength, options.exclusion ?? new ProbeExclusion(tasks)),
    );
    evaluator = await ProbeEvaluator.create(tasks, pool, config, { engine: options.probeEngine ?? 'ort' });
    await mkdir(options.out, { recursive: true });
    const curveFile = path.join(options.out, 'curve.jsonl');
    await writeFile(curveFile, '');
    emit({
      kind: 'start',
      steps: budgetSteps,
      minutes: p.minutes,
      parameters: model.parameterCount,
      threads: p.threads,
    });

    let trainMs = 0;
    const curve: CurvePoint[] = [];
    let lossSum = 0;
    let lossCount = 0;
    const probe = async (step: number): Promise<ProbeReport> => {
      const report = await evaluator!.evaluate(model);
      const a = report.accuracy;
      const point: CurvePoint = {
        step,
        trainSeconds: trainMs / 1000,
        seconds: elapsed(),
        cpuSeconds: cpuElapsed(),
        overall: a.overall,
        deduction: a.deduction,
        abduction: a.abduction,
        induction: a.induction,
        loss: lossCount > 0 ? lossSum / lossCount : null,
      };
      lossSum = 0;
      lossCount = 0;
      curve.push(point);
      await appendFile(curveFile, JSON.stringify({ ...point, byTier: report.byTier }) + '\n');
      emit({ kind: 'probe', point, report });
      return report;
    };

    const probeStart = await probe(0);
    learner = new Learner(model, { lr: p.lr, weightDecay: p.weightDecay });
    threads = p.threads > 1 ? await GradientWorkers.start(config, backend.chosen, p.threads - 1) : null;
    let step = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const progress = budgetSteps !== null ? step / budgetSteps : trainMs / 60_000 / p.minutes!;
      if (progress >= 1) break;
      const batch = await data.next();
      // let the executor's messages through: a training step blocks the event loop
      await new Promise<void>((resolve) => setImmediate(resolve));
      const t0 = now();
      const lr = learningRate(step + 1, budgetSteps !== null ? step / budgetSteps : progress, p);
      learner.setLearningRate(Math.max(lr, 1e-12));
      const samples = batch.map((e) => ({ tokens: e.tokens, lossMask: e.lossMask }));
      const m =
        threads === null ? learner.supervisedStep(samples) : await learner.supervisedStepParallel(samples, threads);
      trainMs += now() - t0;
      step++;
      lossSum += m.loss;
      lossCount++;
      emit({ kind: 'step', step, loss: m.loss, lr, trainSeconds: trainMs / 1000, tokensPerSecond: m.tokensPerSecond });
      if (p.probeEvery > 0 && step % p.probeEvery === 0 && (budgetSteps === null || step < budgetSteps))
        await probe(step);
    }
    const probeEnd = await probe(step);
    const seconds = elapsed();
    const { seed, model: modelSection, pretrain: pretrainSection } = scenario;
    await saveBaseModel(options.out, config, model.readWeights(), {
      kind: BASE_KIND,
      vocab: { size: tokenizer.vocabSize, sha256: vocabFingerprint() },
      seed,
      scenario: { seed, model: modelSection, pretrain: pretrainSection },
      steps: step,
      seconds,
      probeStart: probeStart.accuracy.overall,
      probeEnd: probeEnd.accuracy.overall,
      curve: curve.map((c) => ({ ...c })),
    });
    const result: PretrainResult = {
      probeStart,
      probeEnd,
      steps: step,
      seconds,
      trainSeconds: trainMs / 1000,
      cpuSeconds: cpuElapsed(),
      curve,
      data: { ...data.totals },
      backend,
    };
    await writeFile(
      path.join(options.out, 'pretrain.json'),
      JSON.stringify(
        // the per-task verdicts stay out (a run's first probe.evaluated carries them): the file keeps to the figures
        { ...result, probeStart: figuresOf(probeStart), probeEnd: figuresOf(probeEnd) },
        null,
        2,
      ) + '\n',
    );
    return result;
  } finally {
    learner?.dispose();
    await threads?.close();
    await data?.drain();
    await evaluator?.release();
    await pool.close();
    model.dispose();
  }
}
