// The pretraining data builder: all six formats, labels that agree with the executor, and never a probe task.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseProbeJsonl, type ProbeTask } from '../../src/azr/probe.js';
import { render } from '../../src/azr/lang/render.js';
import { Rng } from '../../src/azr/rng.js';
import { inductionSplit, programParams, readInductionProposal } from '../../src/azr/tasks.js';
import { valueLexemes, valueSource, type Value } from '../../src/azr/lang/value.js';
import { lex } from '../../src/azr/lang/lex.js';
import { proposerPrompt, solverPrompt, TAGS, tokenizer } from '../../src/gpu/tokenizer.js';
import { TRACE_ARROW } from '../../src/azr/lang/lexemes.js';
import { traceLexemes, traceOf } from '../../src/azr/trace.js';
import {
  buildExamples,
  chunkTraceShare,
  labelChunk,
  labelPrograms,
  PRETRAIN_FORMATS,
  PretrainDataStream,
  pretrainDataOptions,
  ProbeExclusion,
  valueFromOutput,
  noStats,
  type PretrainDataOptions,
  type PretrainExample,
} from '../../src/pretrain/pretrainData.js';
import { checkAbductions, checkInductions, SandboxPool, validateProposals } from '../../src/sandbox/index.js';
import {
  FormatWeightsSchema,
  ModelSectionSchema,
  PretrainSectionSchema,
  TierWeightsSchema,
} from '../../src/config/pretrainConfig.js';

const probe = parseProbeJsonl(
  readFileSync(fileURLToPath(new URL('../../scenarios/probe.jsonl', import.meta.url)), 'utf8'),
);
const options: PretrainDataOptions = {
  formats: FormatWeightsSchema.parse({
    solveDeduction: 1,
    solveAbduction: 1,
    solveInduction: 1,
    proposeDeduction: 1,
    proposeAbduction: 1,
    proposeInduction: 1,
    drillSteps: 1,
    copyReads: 1,
  }),
  tiers: TierWeightsSchema.parse({}),
  batchSize: 16,
  chunkBatches: 6,
  programsPerChunk: 40,
  references: 3,
  inductionInputs: 10,
  contextLength: 256,
  prefetch: 2,
  queries: 2,
  traceShare: 0.5,
  exclusion: new ProbeExclusion(probe),
};

let pool: SandboxPool;
let examples: PretrainExample[];

beforeAll(async () => {
  pool = new SandboxPool({ workers: 1 });
  const chunks = await Promise.all([0, 1].map((k) => labelChunk(pool, new Rng(7).split('data'), k, options)));
  examples = chunks.flatMap((c) => c.batches.flat());
});
afterAll(async () => {
  await pool.close();
});

/** The answer part of an example (from the first loss-masked token), split into segments. */
function answerSegments(e: PretrainExample): string[][] {
  const first = e.lossMask.indexOf(1);
  return tokenizer.segments(e.tokens.slice(first));
}

/** Each run of loss-masked tokens (one answer: its segments, each ending with <end>), decoded, split at <end>. */
function answerRunSegments(e: PretrainExample): string[][][] {
  const runs: number[][] = [];
  e.tokens.forEach((t, i) => {
    if (e.lossMask[i] !== 1) return;
    if (i === 0 || e.lossMask[i - 1] !== 1) runs.push([]);
    runs[runs.length - 1]!.push(t);
  });
  return runs.map((r) => tokenizer.segments(r));
}

/** Each solver answer's last segment (the answer after its reasoning trace). */
function answerRuns(e: PretrainExample): string[][] {
  return answerRunSegments(e).map((segs) => {
    expect(segs).toHaveLength(2); // the trace (maybe empty), then the answer
    return segs[1]!;
  });
}

describe('pretraining examples', () => {
  it('come in all eight formats, with the loss on the answers only (a drill: on each step’s value)', () => {
    const formats = new Set(examples.map((e) => e.format));
    expect([...formats].sort()).toEqual([...PRETRAIN_FORMATS].sort());
    for (const e of examples) {
      expect(e.tokens.length).toBe(e.lossMask.length);
      if (e.format === 'drillSteps' || e.format === 'copyReads') {
        // every loss run is a value: after ⇒, before ; (the step's end)
        e.lossMask.forEach((m, i) => {
          if (m === 1 && e.lossMask[i - 1] !== 1) expect(tokenizer.decode([e.tokens[i - 1]!])).toEqual([TRACE_ARROW]);
          if (m === 1 && e.lossMask[i + 1] !== 1) expect(tokenizer.decode([e.tokens[i + 1]!])).toEqual([';']);
        });
        continue;
      }
      // every answer run follows <answer> and ends with <end>; nothing else carries loss
      e.lossMask.forEach((m, i) => {
        if (m === 1 && e.lossMask[i - 1] !== 1) expect(tokenizer.decode([e.tokens[i - 1]!])).toEqual(['<answer>']);
        if (m === 1 && e.lossMask[i + 1] !== 1) expect(e.tokens[i]).toBe(tokenizer.endId);
      });
      expect(e.lossMask[e.lossMask.length - 1]).toBe(1);
    }
    expect(examples.some((e) => e.task.format === 'solveDeduction' && e.task.more.length === 1)).toBe(true);
  });

  it('encode their task: prompt from the view, answer from the label (deduction: after the gold trace or none)', () => {
    const traced = [0, 0];
    let drills = 0;
    let copies = 0;
    for (const e of examples) {
      const t = e.task;
      const prompt = e.tokens.slice(0, e.lossMask.indexOf(1));
      const answer = answerSegments(e);
      if (t.format === 'solveDeduction') {
        expect(prompt).toEqual(
          solverPrompt({ type: 'deduction', program: t.triplet.program, input: t.triplet.input }).tokens,
        );
        expect(answerRuns(e).map((a) => render(a, 'value'))).toEqual(
          [t.triplet, ...t.more].map((x) => valueSource(x.output)),
        );
        expect(t.more.every((x) => x.program === t.triplet.program)).toBe(true);
        // each trace is empty (a direct answer) or the gold trace of that query
        answerRunSegments(e).forEach(([trace], k) => {
          const q = [t.triplet, ...t.more][k]!;
          if (trace!.length > 0) expect(trace).toEqual(traceLexemes(traceOf(q.program, q.input)!.steps));
          traced[trace!.length > 0 ? 1 : 0]! += 1;
        });
      } else if (t.format === 'drillSteps') {
        // no program, no input: the runs' steps with every operand a value, then <end>
        expect(tokenizer.decode(e.tokens.slice(0, 3))).toEqual([TAGS.role.solve, TAGS.type.deduction, '<answer>']);
        const steps = t.runs.flatMap((r) => traceLexemes(traceOf(r.program, r.input, { operands: 'values' })!.steps));
        expect(tokenizer.decode(e.tokens.slice(3))).toEqual([...steps, '<end>']);
        expect(new Set(t.runs.map((r) => r.program)).size).toBe(1);
        drills++;
      } else if (t.format === 'copyReads') {
        // a deduction prompt, then per input a read step of every parameter (its argument, in some order) and <end>
        const first = t.triplets[0]!;
        const head = solverPrompt({ type: 'deduction', program: first.program, input: first.input }).tokens;
        expect(e.tokens.slice(0, head.length)).toEqual(head);
        const params = programParams(first.program)!;
        const rest = tokenizer.decode(e.tokens.slice(head.length));
        const groups = rest.join(' ').split(' <end>').slice(0, -1);
        expect(groups).toHaveLength(t.triplets.length);
        expect(rest[rest.length - 1]).toBe('<end>');
        t.triplets.forEach((q, k) => {
          const query = k === 0 ? '' : `${[TAGS.segment.input, ...argLexemes(q.input, params), '<answer>'].join(' ')} `;
          expect(groups[k]!.trim().startsWith(query.trim())).toBe(true);
          const steps = groups[k]!.trim()
            .slice(query.trim().length)
            .split(' ;')
            .slice(0, -1)
            .map((x) => x.trim().split(' '));
          const args = JSON.parse(`[${q.input}]`) as Value[];
          expect(steps.map((x) => x[0]).sort()).toEqual([...params].sort());
          for (const [name, arrow, ...value] of steps) {
            expect(arrow).toBe(TRACE_ARROW);
            expect(value).toEqual(valueLexemes(args[params.indexOf(name as never)]!));
          }
        });
        // a read step is the one a `reads` trace writes for that parameter
        const trace = traceOf(first.program, first.input, { operands: 'reads' });
        for (const step of trace?.steps.filter((x) => x.lhs.length === 1 && params.includes(x.lhs[0] as never)) ?? [])
          expect(rest.join(' ')).toContain(traceLexemes([step]).join(' '));
        expect(t.triplets.every((x) => x.program === first.program)).toBe(true);
        copies++;
      } else if (t.format === 'solveAbduction') {
        expect(prompt).toEqual(
          solverPrompt({ type: 'abduction', program: t.triplet.program, output: t.triplet.output }).tokens,
        );
        const params = programParams(t.triplet.program)!;
        expect(answerRuns(e).map((a) => render(a, 'args', { params }))).toEqual(
          [t.triplet, ...t.more].map((x) => x.input),
        );
      } else if (t.format === 'solveInduction') {
        const params = programParams(t.induction.program)!;
        expect(prompt).toEqual(
          solverPrompt({
            type: 'induction',
            params,
            shown: inductionSplit(t.induction).shown,
            message: t.induction.message,
          }).tokens,
        );
        expect(answer[0]).toEqual([]); // induction answers directly
        expect(render(answer[1]!, 'program', { params })).toBe(t.induction.program);
      } else if (t.format === 'proposeInduction') {
        const params = programParams(t.induction.program)!;
        expect(prompt).toEqual(
          proposerPrompt({ type: 'induction', program: t.induction.program, params, inputs: 10 }).tokens,
        );
        const read = readInductionProposal(answer[0]!, params, 10);
        expect(read.inputs).toEqual(t.induction.inputs);
        expect(read.message).toBe(t.induction.message);
      } else if (t.format === 'proposeDeduction' || t.format === 'proposeAbduction') {
        expect(prompt).toEqual(
          proposerPrompt({
            type: t.format === 'proposeDeduction' ? 'deduction' : 'abduction',
            references: t.references,
          }).tokens,
        );
        expect(t.references.length).toBeGreaterThanOrEqual(1);
        expect(t.references.length).toBeLessThanOrEqual(3);
        expect(render(answer[0]!, 'program')).toBe(t.triplet.program);
        expect(render(answer[1]!, 'args', { params: programParams(t.triplet.program)! })).toBe(t.triplet.input);
      }
    }
    // traceShare 0.5: both kinds of deduction answer occur
    expect(drills).toBeGreaterThan(5);
    expect(copies).toBeGreaterThan(5);
    expect(traced[0]).toBeGreaterThan(10);
    expect(traced[1]).toBeGreaterThan(10);
  });

  it('carry labels the executor agrees with', async () => {
    const triplets = examples.flatMap((e) =>
      e.task.format === 'solveDeduction'
        ? [e.task.triplet, ...e.task.more]
        : e.task.format === 'proposeDeduction' || e.task.format === 'proposeAbduction'
          ? [e.task.triplet, ...e.task.references]
          : [],
    );
    const runs = await validateProposals(pool, triplets);
    triplets.forEach((t, i) => {
      const r = runs[i]!;
      expect(r.ok).toBe(true);
      expect(r.ok && valueFromOutput(r.output)).toEqual(t.output);
    });
    // a drill's runs: each one's steps end at the output the executor gives
    const drilled = examples.flatMap((e) => (e.task.format === 'drillSteps' ? e.task.runs : []));
    const drillRuns = await validateProposals(pool, drilled);
    drilled.forEach((t, i) => {
      const r = drillRuns[i]!;
      expect(r.ok && valueFromOutput(r.output)).toEqual(t.output);
      expect(traceOf(t.program, t.input, { operands: 'values' })!.output).toEqual(t.output);
    });
    expect(drilled.length).toBeGreaterThan(0);
    // abduction: the taught input (the simplest one with that output) produces the output
    const abd = examples.flatMap((e) => (e.task.format === 'solveAbduction' ? [e.task.triplet, ...e.task.more] : []));
    const checks = await checkAbductions(
      pool,
      abd.map((t) => ({ program: t.program, goldOutput: valueSource(t.output), answerInput: t.input })),
    );
    expect(checks.every((c) => c.correct)).toBe(true);
    // induction: the program maps every one of the N inputs to its output
    const ind = examples.flatMap((e) =>
      e.task.format === 'solveInduction' || e.task.format === 'proposeInduction' ? [e.task.induction] : [],
    );
    const passed = await checkInductions(
      pool,
      ind.map((t) => ({
        candidateProgram: t.program,
        hiddenPairs: t.inputs.map((input, i) => ({ input, output: valueSource(t.outputs[i]!) })),
      })),
    );
    expect(passed.every((c) => c.passed)).toBe(true);
    expect(abd.length).toBeGreaterThan(0);
    expect(ind.length).toBeGreaterThan(0);
  });
});

describe('probe exclusion', () => {
  it('recognises every probe program, whatever its spacing', () => {
    const ex = new ProbeExclusion(probe);
    expect(ex.size).toBe(new Set(probe.map((t) => t.task.program)).size);
    for (const t of probe) expect(ex.excludes(t.task.program)).toBe(true);
    expect(ex.excludes(probe[0]!.task.program.replace(/ /g, '  '))).toBe(true);
    expect(ex.excludes('function f(n) { return n + 29; }')).toBe(
      probe.some((t) => t.task.program === 'function f(n) { return n + 29; }'),
    );
  });

  it('drops a program the generator draws when it is a probe program', async () => {
    // Arrange: the programs one draw yields, posing as the probe set
    const rng = () => new Rng('exclusion').split('programs');
    const drawn = await labelPrograms(
      pool,
      rng(),
      { programs: 30, tiers: options.tiers, inputsPerProgram: 12 },
      noStats(),
    );
    const fake: ProbeTask[] = drawn.slice(0, 10).map((p, i) => ({
      id: `fake-${i}`,
      tier: p.tier,
      task: { type: 'deduction', program: p.program, input: p.pairs[0]!.input, output: p.pairs[0]!.output },
    }));
    // Act: the same draw with those excluded
    const stats = noStats();
    const again = await labelPrograms(
      pool,
      rng(),
      { programs: 30, tiers: options.tiers, inputsPerProgram: 12, exclusion: new ProbeExclusion(fake) },
      stats,
    );
    const examples = buildExamples(
      again,
      new Rng(3),
      { formats: options.formats, examples: 300, references: 3, inductionInputs: 10, contextLength: 256 },
      stats,
    );
    // Assert
    expect(stats.probeExcluded).toBeGreaterThanOrEqual(10);
    const banned = new Set(fake.map((t) => t.task.program));
    for (const p of again) expect(banned.has(p.program)).toBe(false);
    for (const e of examples) for (const program of programsOf(e)) expect(banned.has(program)).toBe(false);
  });

  it('never emits a probe task from the stream', async () => {
    const stream = new PretrainDataStream(pool, new Rng(11).split('data'), options);
    const seen: PretrainExample[] = [];
    for (let i = 0; i < 3 * options.chunkBatches; i++) seen.push(...(await stream.next()));
    await stream.drain();
    const probePrograms = new Set(probe.map((t) => t.task.program));
    const probePairs = new Set(probe.flatMap((t) => ('input' in t.task ? [`${t.task.program}|${t.task.input}`] : [])));
    for (const e of seen) {
      for (const program of programsOf(e)) expect(probePrograms.has(program)).toBe(false);
      if ('triplet' in e.task) expect(probePairs.has(`${e.task.triplet.program}|${e.task.triplet.input}`)).toBe(false);
    }
    expect(stream.totals.examples).toBeGreaterThan(0);
  });
});

describe('the stream', () => {
  it('gives the same batches for the same seed, bucketed by length', async () => {
    const batches = async () => {
      const s = new PretrainDataStream(pool, new Rng(5).split('data'), {
        ...options,
        programsPerChunk: 20,
        chunkBatches: 2,
      });
      const out = [await s.next(), await s.next(), await s.next()];
      await s.drain();
      return out.map((b) => b.map((e) => e.tokens));
    };
    const a = await batches();
    expect(await batches()).toEqual(a);
    for (const b of a) expect(b).toHaveLength(options.batchSize);
  });
});

function argLexemes(input: string, params: ReturnType<typeof programParams> & object): string[] {
  const l = lex(input, 'args', { params });
  if (!l.ok) throw new Error(`does not lex: ${input}`);
  return [...l.lexemes];
}

function programsOf(e: PretrainExample): string[] {
  const t = e.task;
  if ('induction' in t) return [t.induction.program];
  if ('runs' in t) return t.runs.map((r) => r.program);
  if ('triplets' in t) return t.triplets.map((r) => r.program);
  return [t.triplet.program, ...('references' in t ? t.references.map((r) => r.program) : [])];
}

describe('a trace-share schedule (pretrain.traceShareEnd)', () => {
  it('moves the share linearly over the build’s steps, chunk by chunk, and holds it after', () => {
    const o = { ...options, chunkBatches: 6, traceShare: 0.9, traceShareSchedule: { end: 0.1, steps: 13 } };
    expect([0, 1, 2, 5].map((k) => chunkTraceShare(o, k))).toEqual([0.9, 0.5, 0.1, 0.1].map((x) => expect.closeTo(x)));
    expect(chunkTraceShare(options, 3)).toBe(0.5); // no schedule: traceShare throughout
  });

  it('is the build’s; self-play’s supervised data uses the share the build ended with', () => {
    const p = PretrainSectionSchema.parse({ steps: 100, traceShare: 0.8, traceShareEnd: 0.2 });
    const exclusion = new ProbeExclusion(probe);
    const build = pretrainDataOptions(p, 256, exclusion);
    expect([build.traceShare, build.traceShareSchedule]).toEqual([0.8, { end: 0.2, steps: 100 }]);
    const selfPlay = pretrainDataOptions(p, 256, exclusion, {}, 'selfPlay');
    expect([selfPlay.traceShare, selfPlay.traceShareSchedule]).toEqual([0.2, undefined]);
    // absent (the default), the section and what it records are as before the knob existed
    const plain = PretrainSectionSchema.parse({});
    expect('traceShareEnd' in plain).toBe(false);
    expect(pretrainDataOptions(plain, 256, exclusion).traceShareSchedule).toBeUndefined();
    expect(() => PretrainSectionSchema.parse({ traceShareEnd: 0.1, minutes: 5 })).toThrow(/needs a step budget/);
  });

  it('labels each chunk at its share: the first as at the start share, one past the last step as at the end share', async () => {
    const base = {
      ...options,
      formats: FormatWeightsSchema.parse({ solveDeduction: 1 }),
      chunkBatches: 2,
      programsPerChunk: 20,
    };
    const tokens = async (k: number, o: PretrainDataOptions) =>
      (await labelChunk(pool, new Rng(3).split('data'), k, o)).batches.flat().map((e) => e.tokens);
    const scheduled = { ...base, traceShare: 1, traceShareSchedule: { end: 0, steps: 5 } };
    const allTraced = { ...base, traceShare: 1 };
    const noneTraced = { ...base, traceShare: 0 };
    expect(await tokens(0, scheduled)).toEqual(await tokens(0, allTraced));
    expect(await tokens(3, scheduled)).toEqual(await tokens(3, noneTraced));
    // and the two shares label differently (the comparison can fail)
    expect(await tokens(0, allTraced)).not.toEqual(await tokens(0, noneTraced));
    expect(await tokens(3, allTraced)).not.toEqual(await tokens(3, noneTraced));
  });
});

describe('the options for learning single operations', () => {
  it('absent (the default) leave the recorded sections as before they existed', () => {
    expect('traceOperands' in PretrainSectionSchema.parse({})).toBe(false);
    expect('drillSteps' in FormatWeightsSchema.parse({})).toBe(false);
    expect('copyReads' in FormatWeightsSchema.parse({})).toBe(false);
    expect('outputHead' in ModelSectionSchema.parse({})).toBe(false);
  });

  it('pretrain.traceOperands: reads traces every deduction answer with its read steps, through the section', async () => {
    const p = PretrainSectionSchema.parse({
      traceOperands: 'reads',
      traceShare: 1,
      formats: { solveDeduction: 1, solveAbduction: 0, solveInduction: 0 },
      programsPerChunk: 20,
      chunkBatches: 2,
    });
    const o = pretrainDataOptions(p, 256, new ProbeExclusion(probe), { batchSize: 8 });
    const { batches } = await labelChunk(pool, new Rng(9).split('data'), 0, o);
    let reads = 0;
    for (const e of batches.flat()) {
      const t = e.task;
      if (t.format !== 'solveDeduction') continue;
      answerRunSegments(e).forEach(([trace], k) => {
        const q = [t.triplet, ...t.more][k]!;
        const gold = traceOf(q.program, q.input, { operands: 'reads' });
        expect(trace).toEqual(gold === undefined ? [] : traceLexemes(gold.steps));
        if (
          gold !== undefined &&
          gold.steps.some((s) => s.lhs.length === 1 && programParams(q.program)!.includes(s.lhs[0] as never))
        )
          reads++;
      });
    }
    expect(reads).toBeGreaterThan(10);
  });
});
