// `npm run bench -- model [--reps N]`: rollout tokens/s (onnxruntime vs tfjs-wasm), training tokens/s (wasm + fast matmul vs pure-JS cpu), weight sync time, supervised steps on 1 vs 2 threads.

import * as tf from '@tensorflow/tfjs';
import { cpus, loadavg } from 'node:os';
import { Rng } from '../src/azr/rng.js';
import { formatBackendReport, initBackend } from '../src/gpu/backend.js';
import { GradientWorkers } from '../src/gpu/gradientWorkers.js';
import { Learner, type PolicySample, type SupervisedSample } from '../src/gpu/learner.js';
import { Gpt, type GptConfig } from '../src/gpu/model.js';
import { OrtRollout } from '../src/gpu/rollout.js';
import { sample, type SampleRequest } from '../src/gpu/sampler.js';
import { WeightBoard } from '../src/gpu/weights.js';

/** The measured workload: d=64, 2 layers, batch 64, ~60 new tokens (reference/stack-measurements.md §2–3). */
const CONFIG: GptConfig = { vocabSize: 64, contextLength: 96, layers: 2, width: 64, heads: 4 };
const ROLLOUT_BATCH = 64;
const NEW_TOKENS = 60;
const TRAIN_BATCH = 32;
const TRAIN_PROMPT = 16;
const TRAIN_COMPLETION = 48;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const range = (xs: readonly number[], digits = 0): string =>
  `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;

function rolloutRequests(rng: Rng): SampleRequest[] {
  return Array.from({ length: ROLLOUT_BATCH }, () => ({
    prompt: Array.from({ length: 4 + rng.int(12) }, () => 1 + rng.int(CONFIG.vocabSize - 1)),
  }));
}

function trainBatch(rng: Rng): PolicySample[] {
  return Array.from({ length: TRAIN_BATCH }, () => ({
    prompt: Array.from({ length: TRAIN_PROMPT }, () => rng.int(CONFIG.vocabSize)),
    tokens: Array.from({ length: TRAIN_COMPLETION }, () => rng.int(CONFIG.vocabSize)),
    advantage: rng.next() * 2 - 1,
  }));
}

export async function main(args: string[]): Promise<void> {
  const repsArg = args.indexOf('--reps');
  const reps = repsArg >= 0 ? Number(args[repsArg + 1]) : 5;
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer');
  const report = await initBackend({ force: 'wasm' });
  process.stdout.write(`${formatBackendReport(report)}\n`);
  process.stdout.write(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (shared: other work may skew figures)\n`,
  );
  process.stdout.write(
    `model: d=${CONFIG.width}, ${CONFIG.layers} layers, ${CONFIG.heads} heads, vocab ${CONFIG.vocabSize}, context ${CONFIG.contextLength}; ${reps} alternating reps, medians (min–max)\n\n`,
  );

  const rng = new Rng('bench-model');
  const model = Gpt.init(CONFIG, rng.split('init'));
  const learner = new Learner(model, { lr: 1e-4 });
  const board = new WeightBoard();
  learner.publish(board);
  const rollout = await OrtRollout.create(CONFIG, board, { intraOpThreads: 1 });

  // ---- rollouts: the same decode loop and KV cache, onnxruntime vs tfjs-wasm, alternating
  const tokensPerBatch = ROLLOUT_BATCH * NEW_TOKENS;
  await rollout.sample(rolloutRequests(rng.split('warm')), { rng: new Rng(0), maxNewTokens: NEW_TOKENS });
  await sample(model, rolloutRequests(rng.split('warm')), { rng: new Rng(0), maxNewTokens: NEW_TOKENS });
  const ortRate: number[] = [];
  const tfjsRate: number[] = [];
  const rolloutRatios: number[] = [];
  for (let r = 0; r < reps; r++) {
    const requests = rolloutRequests(rng.split(`rollout${r}`));
    let t = performance.now();
    await rollout.sample(requests, { rng: new Rng(r), maxNewTokens: NEW_TOKENS });
    const ort = tokensPerBatch / ((performance.now() - t) / 1000);
    t = performance.now();
    await sample(model, requests, { rng: new Rng(r), maxNewTokens: NEW_TOKENS });
    const tfjs = tokensPerBatch / ((performance.now() - t) / 1000);
    ortRate.push(ort);
    tfjsRate.push(tfjs);
    rolloutRatios.push(ort / tfjs);
  }
  process.stdout.write(`rollout tokens/s (B=${ROLLOUT_BATCH}, ${NEW_TOKENS} new, KV cache)\n`);
  process.stdout.write(
    `  onnxruntime intraOp=1  ${range(ortRate)}\n  tfjs-wasm              ${range(tfjsRate)}\n  ratio                  ${range(rolloutRatios, 2)}\n\n`,
  );

  // ---- weight sync: learner → board → the engine's next batch (read weights, wrap them as ORT inputs)
  const syncMs: number[] = [];
  for (let r = 0; r < Math.max(reps, 5); r++) {
    learner.policyStep(trainBatch(rng.split(`sync${r}`)).slice(0, 4));
    const t = performance.now();
    learner.publish(board);
    rollout.current();
    syncMs.push(performance.now() - t);
  }
  process.stdout.write(`weight sync (publish + pick up), ms: ${range(syncMs, 2)}\n\n`);

  // ---- training: policy steps on wasm (fast matmul) vs the pure-JS cpu backend, alternating
  const trainTokens = TRAIN_BATCH * (TRAIN_PROMPT + TRAIN_COMPLETION - 1);
  const wasmModel = Gpt.init(CONFIG, rng.split('init'));
  const wasmLearner = new Learner(wasmModel, { lr: 1e-4 });
  await tf.setBackend('cpu');
  const cpuModel = Gpt.init(CONFIG, rng.split('init'));
  const cpuLearner = new Learner(cpuModel, { lr: 1e-4 });
  const wasmRate: number[] = [];
  const cpuRate: number[] = [];
  const trainRatios: number[] = [];
  const timeStep = async (backend: string, l: Learner, batch: PolicySample[]): Promise<number> => {
    await tf.setBackend(backend);
    const t = performance.now();
    l.policyStep(batch);
    return trainTokens / ((performance.now() - t) / 1000);
  };
  await timeStep('wasm', wasmLearner, trainBatch(rng.split('warm')));
  await timeStep('cpu', cpuLearner, trainBatch(rng.split('warm')));
  for (let r = 0; r < reps; r++) {
    const batch = trainBatch(rng.split(`train${r}`));
    const w = await timeStep('wasm', wasmLearner, batch);
    const c = await timeStep('cpu', cpuLearner, batch);
    wasmRate.push(w);
    cpuRate.push(c);
    trainRatios.push(w / c);
  }
  await tf.setBackend('wasm');
  process.stdout.write(`training tokens/s (policy step, B=${TRAIN_BATCH}, T=${TRAIN_PROMPT + TRAIN_COMPLETION - 1})\n`);
  process.stdout.write(
    `  wasm + fast matmul     ${range(wasmRate)}\n  cpu (pure JS)          ${range(cpuRate)}\n  ratio                  ${range(trainRatios, 2)}\n\n`,
  );

  // ---- supervised steps (azr pretrain): the main thread alone vs split with one gradient thread, alternating
  const threads = await GradientWorkers.start(CONFIG, 'wasm', 1);
  const oneModel = Gpt.init(CONFIG, rng.split('init'));
  const twoModel = Gpt.init(CONFIG, rng.split('init'));
  const one = new Learner(oneModel, { lr: 1e-4 });
  const two = new Learner(twoModel, { lr: 1e-4 });
  const supervisedBatch = (r: Rng): SupervisedSample[] =>
    trainBatch(r).map((x) => ({
      tokens: [...x.prompt, ...x.tokens],
      lossMask: [...x.prompt.map(() => 0), ...x.tokens.map(() => 1)],
    }));
  const timeSupervised = async (l: Learner, batch: SupervisedSample[], parallel: boolean): Promise<number> => {
    const t = performance.now();
    if (parallel) await l.supervisedStepParallel(batch, threads);
    else l.supervisedStep(batch);
    return trainTokens / ((performance.now() - t) / 1000);
  };
  await timeSupervised(one, supervisedBatch(rng.split('warm')), false);
  await timeSupervised(two, supervisedBatch(rng.split('warm')), true);
  const oneRate: number[] = [];
  const twoRate: number[] = [];
  const parallelRatios: number[] = [];
  for (let r = 0; r < reps; r++) {
    const batch = supervisedBatch(rng.split(`supervised${r}`));
    const a = await timeSupervised(one, batch, false);
    const b = await timeSupervised(two, batch, true);
    oneRate.push(a);
    twoRate.push(b);
    parallelRatios.push(b / a);
  }
  await threads.close();
  process.stdout
    .write(`supervised training tokens/s (azr pretrain's step, B=${TRAIN_BATCH}, T=${TRAIN_PROMPT + TRAIN_COMPLETION - 1}, wasm)
`);
  process.stdout.write(`  1 thread               ${range(oneRate)}
  2 threads (1 worker)   ${range(twoRate)}
  ratio                  ${range(parallelRatios, 2)}

`);

  await rollout.release();
  for (const l of [learner, wasmLearner, cpuLearner, one, two]) l.dispose();
  for (const m of [model, wasmModel, cpuModel, oneModel, twoModel]) m.dispose();
  const summary = {
    bench: 'model',
    rolloutRatio: round(median(rolloutRatios)),
    trainRatio: round(median(trainRatios)),
    syncMs: round(median(syncMs)),
    parallelRatio: round(median(parallelRatios)),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
