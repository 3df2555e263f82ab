// Which single operations has a base learned? Teacher-forced accuracy of gold trace steps, per operation and place.
// Run: node --import tsx scripts/step-accuracy.ts BASE_DIR [--examples N] [--seed S]
// Examples come from the pretraining stream at a seed no build uses (held out): drills (every operand a value),
// deduction answers, every one traced, and read drills (every parameter's value copied from the prompt). Prints one
// block per kind and, with --json, one JSON line.

import { Command, InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/azr/rng.js';
import { initBackend } from '../src/gpu/backend.js';
import { attentionMask } from '../src/gpu/layout.js';
import type { Gpt } from '../src/gpu/model.js';
import { loadBaseModel } from '../src/pretrain/baseModel.js';
import {
  labelChunk,
  PRETRAIN_FORMATS,
  type PretrainDataOptions,
  type PretrainExample,
} from '../src/pretrain/pretrainData.js';
import { formatTallies, stepAccuracy, type StepAccuracy } from '../src/pretrain/stepAccuracy.js';
import { SandboxPool } from '../src/sandbox/index.js';

/** Every format at weight 0 (one is then set to 1). */
const NO_FORMATS = Object.fromEntries(PRETRAIN_FORMATS.map((f) => [f, 0])) as PretrainDataOptions['formats'];

/** The token predicted after each position of `tokens` (one sequence, causal). */
function predictions(model: Gpt, tokens: readonly number[]): number[] {
  return tf.tidy(() => {
    const T = tokens.length;
    const { logits } = model.forward(
      tf.tensor2d([[...tokens]], [1, T], 'int32'),
      tf.tensor2d([tokens.map((_, i) => i)], [1, T], 'int32'),
      tf.tensor4d(attentionMask([0], 0, T), [1, 1, T, T]),
    );
    return Array.from(logits.argMax(-1).dataSync());
  });
}

/** Held-out examples of one format from the stream at `seed` (chunk after chunk until `n`). */
async function examplesOf(
  pool: SandboxPool,
  format: 'drillSteps' | 'solveDeduction' | 'copyReads',
  n: number,
  seed: string,
  contextLength: number,
  operands: PretrainDataOptions['traceOperands'],
): Promise<PretrainExample[]> {
  const o: PretrainDataOptions = {
    formats: { ...NO_FORMATS, [format]: 1 },
    tiers: { easy: 2, medium: 2, hard: 1 },
    batchSize: 16,
    chunkBatches: 8,
    programsPerChunk: 96,
    references: 3,
    inductionInputs: 10,
    prefetch: 1,
    contextLength,
    maxOutputShare: 1,
    queries: 1,
    traceShare: 1,
    traceOperands: operands,
  };
  const out: PretrainExample[] = [];
  for (let k = 0; out.length < n && k < 20; k++)
    out.push(...(await labelChunk(pool, new Rng(seed).split('data'), k, o)).batches.flat());
  return out.slice(0, n);
}

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number ≥ 1');
  return n;
};

const program = new Command('step-accuracy')
  .description(
    "Teacher-forced accuracy of a base's gold trace steps: per operation and place, on held-out drills, traced deduction answers and read drills",
  )
  .argument('<base>', 'base checkpoint directory (azr pretrain --out)')
  .option('--examples <n>', 'examples of each kind', positive, 128)
  .option('--seed <s>', 'seed of the held-out stream (not a build seed)', 'step-accuracy')
  .option('--json', 'also print the figures as one JSON line')
  .action(async (dir: string, opts: { examples: number; seed: string; json?: boolean }) => {
    await initBackend({});
    const { model, info } = await loadBaseModel(dir);
    const pool = new SandboxPool({ workers: 1 });
    const figures: Record<string, StepAccuracy> = {};
    const recipe = info.scenario['pretrain'] as Pick<PretrainDataOptions, 'traceOperands'> | undefined;
    const operands = recipe?.traceOperands ?? 'names'; // the trace format the base was trained on
    try {
      for (const format of ['drillSteps', 'solveDeduction', 'copyReads'] as const) {
        const examples = await examplesOf(pool, format, opts.examples, opts.seed, model.config.contextLength, operands);
        const acc = stepAccuracy(
          examples,
          examples.map((e) => predictions(model, e.tokens)),
        );
        figures[format] = acc;
        console.log(`${format} (${examples.length} examples)`);
        console.log(`  by place: ${formatTallies(acc.byPlace)}`);
        console.log(`  by operation: ${formatTallies(acc.byOperation)}`);
        if (Object.keys(acc.leftSides).length > 0) console.log(`  left sides: ${formatTallies(acc.leftSides)}`);
      }
    } finally {
      model.dispose();
      await pool.close();
    }
    if (opts.json === true) console.log(JSON.stringify(figures));
  });

await program.parseAsync();
