// Step accuracy (src/pretrain/stepAccuracy.ts and scripts/step-accuracy.ts): gold trace steps tallied per operation
// and place, right only where every token of the value is predicted.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { traceOf } from '../../src/azr/trace.js';
import { programParams } from '../../src/azr/tasks.js';
import { valueLexemes } from '../../src/azr/lang/value.js';
import { labelChunk, type PretrainDataOptions, type PretrainExample } from '../../src/pretrain/pretrainData.js';
import { stepAccuracy, type Tally } from '../../src/pretrain/stepAccuracy.js';
import { FormatWeightsSchema, TierWeightsSchema } from '../../src/config/pretrainConfig.js';
import { SandboxPool } from '../../src/sandbox/index.js';
import { tokenizer } from '../../src/gpu/tokenizer.js';
import { TRACE_ARROW } from '../../src/azr/lang/lexemes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let pool: SandboxPool;
let examples: PretrainExample[];

/** Chunk 0 of a small stream (every deduction answer traced) with deduction weight 1, the other formats as given. */
async function stream(
  seed: string,
  o: Partial<PretrainDataOptions> & { drillSteps?: number; copyReads?: number },
): Promise<PretrainExample[]> {
  const zero = { solveAbduction: 0, solveInduction: 0, proposeDeduction: 0, proposeAbduction: 0, proposeInduction: 0 };
  const { drillSteps, copyReads, ...rest } = o;
  const { batches } = await labelChunk(pool, new Rng(seed).split('data'), 0, {
    formats: FormatWeightsSchema.parse({
      ...zero,
      solveDeduction: 1,
      ...(drillSteps === undefined ? {} : { drillSteps }),
      ...(copyReads === undefined ? {} : { copyReads }),
    }),
    tiers: TierWeightsSchema.parse({}),
    batchSize: 8,
    chunkBatches: 4,
    programsPerChunk: 24,
    references: 3,
    inductionInputs: 10,
    contextLength: 256,
    prefetch: 1,
    traceShare: 1,
    ...rest,
  });
  return batches.flat();
}

beforeAll(async () => {
  pool = new SandboxPool({ workers: 1 });
  examples = await stream('steps', { drillSteps: 1, queries: 2 });
});
afterAll(async () => {
  await pool.close();
});

const total = (t: Record<string, Tally>) => Object.values(t).reduce((n, x) => n + x.total, 0);
const right = (t: Record<string, Tally>) => Object.values(t).reduce((n, x) => n + x.right, 0);

describe('step accuracy', () => {
  it('counts every gold step once: all right for the gold tokens, none right for tokens one place off', () => {
    const steps = examples.reduce((n, e) => {
      const t = e.task;
      if (t.format === 'drillSteps')
        return n + t.runs.reduce((k, r) => k + traceOf(r.program, r.input, { operands: 'values' })!.steps.length, 0);
      if (t.format === 'solveDeduction')
        return n + [t.triplet, ...t.more].reduce((k, q) => k + (traceOf(q.program, q.input)?.steps.length ?? 0), 0);
      return n;
    }, 0);
    expect(steps).toBeGreaterThan(50);
    const oracle = stepAccuracy(
      examples,
      examples.map((e) => [...e.tokens.slice(1), 0]),
    );
    expect(total(oracle.byOperation)).toBe(steps);
    expect(right(oracle.byOperation)).toBe(steps);
    expect(oracle.byPlace['drill step']!.total).toBeGreaterThan(0);
    expect(oracle.byPlace['first step']!.total).toBeGreaterThan(0);
    expect(oracle.byPlace['answer after trace']!.right).toBe(oracle.byPlace['answer after trace']!.total);
    expect(oracle.byOperation['?']).toBeUndefined(); // every step's operation is named
    // left sides: one per deduction step, all right for the gold tokens
    const deductionSteps = steps - oracle.byPlace['drill step']!.total;
    expect(total(oracle.leftSides)).toBe(deductionSteps);
    expect(right(oracle.leftSides)).toBe(deductionSteps);
    expect(Object.keys(oracle.leftSides).sort()).toEqual(['first step', 'later step']);
    // every `⇒` mispredicted: each left side is wrong, every value still right
    const arrow = tokenizer.id(TRACE_ARROW);
    const noArrow = stepAccuracy(
      examples,
      examples.map((e) => [...e.tokens.slice(1).map((x) => (x === arrow ? arrow + 1 : x)), 0]),
    );
    expect(right(noArrow.leftSides)).toBe(0);
    expect(right(noArrow.byOperation)).toBe(steps);
    // predicting each token itself (the input echoed) gets a value right only by coincidence of repeats
    const echo = stepAccuracy(
      examples,
      examples.map((e) => e.tokens),
    );
    expect(total(echo.byOperation)).toBe(steps);
    expect(right(echo.byOperation)).toBe(0); // a value never follows `⇒` with `⇒` itself
    expect(right(echo.leftSides)).toBe(0);
  });

  it('tallies read steps apart, one-token values and longer ones (traceOperands: reads)', async () => {
    const reads = await stream('reads', { queries: 1, traceOperands: 'reads' });
    const gold = reads.flatMap((e) => {
      const t = e.task;
      if (t.format !== 'solveDeduction') return [];
      const params = programParams(t.triplet.program)!;
      const trace = traceOf(t.triplet.program, t.triplet.input, { operands: 'reads' });
      return (trace?.steps ?? []).filter((s) => s.lhs.length === 1 && params.includes(s.lhs[0] as never));
    });
    const long = gold.filter((s) => valueLexemes(s.value).length > 1).length;
    expect(long).toBeGreaterThan(0);
    expect(gold.length - long).toBeGreaterThan(0);
    const oracle = stepAccuracy(
      reads,
      reads.map((e) => [...e.tokens.slice(1), 0]),
    );
    expect(oracle.byOperation['read']).toEqual({ right: gold.length - long, total: gold.length - long });
    expect(oracle.byOperation['read (several tokens)']).toEqual({ right: long, total: long });
    expect(oracle.byPlace['read step']!.total).toBe(gold.length);
    expect(oracle.leftSides['read step']).toEqual({ right: gold.length, total: gold.length });
  });

  it('tallies the reads of read drills (copyReads): every parameter of every input once, no left side', async () => {
    const drills = (await stream('copies', { copyReads: 1, queries: 2 })).filter((e) => e.task.format === 'copyReads');
    const reads = drills.reduce(
      (n, e) =>
        n +
        (e.task.format === 'copyReads'
          ? e.task.triplets.length * programParams(e.task.triplets[0]!.program)!.length
          : 0),
      0,
    );
    expect(reads).toBeGreaterThan(20);
    const oracle = stepAccuracy(
      drills,
      drills.map((e) => [...e.tokens.slice(1), 0]),
    );
    expect(oracle.byPlace).toEqual({ 'read step': { right: reads, total: reads } });
    expect(total(oracle.byOperation)).toBe(reads);
    expect(oracle.leftSides).toEqual({}); // a drill's left side is given, not predicted
    const echo = stepAccuracy(
      drills,
      drills.map((e) => e.tokens),
    );
    expect(right(echo.byPlace)).toBe(0);
  });

  it('runs as a script on the shipped base and prints its figures', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/step-accuracy.ts', 'models/default', '--examples', '16', '--json'],
      { cwd: ROOT, timeout: 120_000 },
    );
    expect(stdout).toMatch(/drillSteps \(16 examples\)\n {2}by place: drill step \d+% \(\d+\)/);
    const figures = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<
      string,
      { byOperation: Record<string, Tally> }
    >;
    expect(stdout).toMatch(/copyReads \(16 examples\)\n {2}by place: read step \d+% \(\d+\)/);
    expect(stdout).toMatch(/solveDeduction \(16 examples\)\n.*\n.*\n {2}left sides: (first|later) step \d+%/);
    for (const k of ['drillSteps', 'solveDeduction', 'copyReads']) {
      const t = figures[k]!.byOperation;
      expect(total(t)).toBeGreaterThan(0);
      expect(right(t)).toBeLessThanOrEqual(total(t));
    }
  }, 150_000);
});
