// Pretraining data: programs and inputs drawn from the task-language generator, labelled by the executor, encoded as
// supervised examples of the six (role × type) prompt formats (and, when weighted, drills of single trace steps and
// of read steps), and streamed as length-bucketed batches.
//
// Nothing here is curated: every program comes from the grammar, every output from running it in the sandbox. The
// only outside knowledge is the probe set, and only to leave it out: a program of any probe task is never trained
// on (that excludes every probe (program, input) pair and every probe induction program).

import { createHash } from 'node:crypto';
import { lex } from '../azr/lang/lex.js';
import { generateArgs, generateProgram } from '../azr/lang/generate.js';
import type { ParamName } from '../azr/lang/grammar.js';
import { INPUT_SEPARATOR, MESSAGE_START, TRACE_ARROW } from '../azr/lang/lexemes.js';
import { messageFor } from '../azr/lang/message.js';
import { operationCount, tierOf, TIERS, type ProbeTask, type Tier } from '../azr/probe.js';
import type { Rng } from '../azr/rng.js';
import { TRACE_STEP_END, traceLexemes, traceOf } from '../azr/trace.js';
import { inductionSplit, type InductionTask, type Triplet } from '../azr/tasks.js';
import {
  argsLexemes,
  argsSource,
  canonicalValue,
  valueEquals,
  valueLexemes,
  valueSource,
  valueType,
  type Value,
} from '../azr/lang/value.js';
import { proposerPrompt, solverPrompt, supervisedExample, TAGS, tokenizer } from '../gpu/tokenizer.js';
import { parseValue, validateProposals, type CanonicalValue, type Sandbox } from '../sandbox/index.js';
import type { PretrainSection, TierWeights } from '../config/pretrainConfig.js';

/**
 * The six prompt formats (role × type), then the drill of single trace steps (`drillSteps`) and the drill of read
 * steps (`copyReads`), both off unless weighted.
 */
export const PRETRAIN_FORMATS = [
  'solveDeduction',
  'solveAbduction',
  'solveInduction',
  'proposeDeduction',
  'proposeAbduction',
  'proposeInduction',
  'drillSteps',
  'copyReads',
] as const;
type PretrainFormat = (typeof PRETRAIN_FORMATS)[number];

/** The task behind an example, for tests and inspection (the tokens are what the model sees). */
type ExampleTask =
  | {
      readonly format: 'solveDeduction' | 'solveAbduction';
      readonly triplet: Triplet;
      /** Further queries on the same program, appended after the first answer (see ExampleOptions.queries). */
      readonly more: readonly Triplet[];
    }
  | {
      readonly format: 'proposeDeduction' | 'proposeAbduction';
      readonly triplet: Triplet;
      readonly references: readonly Triplet[];
    }
  | { readonly format: 'solveInduction' | 'proposeInduction'; readonly induction: InductionTask }
  /** The runs whose value-operand trace steps the example drills, in order. */
  | { readonly format: 'drillSteps'; readonly runs: readonly Triplet[] }
  /** The inputs whose parameters the example reads, in order (the first is the prompt's). */
  | { readonly format: 'copyReads'; readonly triplets: readonly Triplet[] };

/** One supervised sequence: prompt then answer segments; the loss is on the answer only. */
export interface PretrainExample {
  readonly format: PretrainFormat;
  readonly tokens: number[];
  readonly lossMask: number[];
  readonly task: ExampleTask;
}

/** One program with the inputs it was run on and their expressible outputs (executor-labelled). */
interface LabelledProgram {
  readonly program: string;
  readonly lexemes: readonly string[];
  readonly params: readonly ParamName[];
  readonly tier: Tier;
  /**
   * Distinct inputs whose output is expressible, in draw order. `simplest` is the input with the fewest lexemes found
   * to give the same output: the input itself, or it with some arguments replaced by `0`, `""` or `[]` (executor-checked).
   */
  readonly pairs: readonly {
    readonly input: string;
    readonly args: readonly Value[];
    readonly output: Value;
    readonly simplest: string;
  }[];
}

/** Counters of what a chunk drew, kept and dropped. */
export interface ChunkStats {
  programs: number;
  /** Drawn programs that are probe programs (dropped). */
  probeExcluded: number;
  /** Programs with fewer than two distinct expressible outputs (constant or failing; dropped). */
  degenerate: number;
  runs: number;
  /** Runs that failed or gave an inexpressible output. */
  invalidRuns: number;
  examples: number;
  /** Examples longer than the context (dropped). */
  tooLong: number;
}

// -----------------------------------------------------------------------------------------------------------
// Probe exclusion

/** Canonical source of a program (lexed and re-joined), so spacing cannot hide a probe program. */
function canonicalProgram(source: string): string {
  const l = lex(source, 'program');
  return l.ok ? l.lexemes.join('\u0001') : source;
}

/** The probe programs that training must never show as a task. */
export class ProbeExclusion {
  private readonly programs: Set<string>;
  constructor(tasks: readonly ProbeTask[]) {
    this.programs = new Set(tasks.map((t) => canonicalProgram(t.task.program)));
  }
  get size(): number {
    return this.programs.size;
  }
  /** True when `program` is (up to spacing) the program of a probe task. */
  excludes(program: string): boolean {
    return this.programs.has(canonicalProgram(program));
  }
  /** A short hash of the excluded programs: what a base model trained with this exclusion depends on. */
  fingerprint(): string {
    return createHash('sha256')
      .update([...this.programs].sort().join('\n'))
      .digest('hex')
      .slice(0, 16);
  }
}

// -----------------------------------------------------------------------------------------------------------
// Labelling

/** The expressible task-language value a sandbox output text stands for, or undefined. */
export function valueFromOutput(text: string): Value | undefined {
  const parsed = parseValue(text);
  if (!parsed.ok) return undefined;
  const plain = (v: CanonicalValue): unknown => {
    switch (v.t) {
      case 'number':
      case 'string':
      case 'boolean':
        return v.v;
      case 'array':
        return v.items.map(plain);
      default:
        return undefined;
    }
  };
  return canonicalValue(plain(parsed.value));
}

/** Length ranges the generator aims at per tier (as the probe draws them), before the operation-count check. */
const TIER_TARGET: Readonly<Record<Tier, readonly [number, number]>> = {
  easy: [7, 9],
  medium: [9, 13],
  hard: [12, 18],
};

interface LabelOptions {
  readonly programs: number;
  readonly tiers: TierWeights;
  /** Inputs drawn per program (distinct; some may fail). */
  readonly inputsPerProgram: number;
  readonly maxProgramLength?: number;
  readonly exclusion?: ProbeExclusion;
  /** Find each pair's simplest equivalent input (default true; see simplifyInputs). */
  readonly simplify?: boolean;
}

/**
 * Draws `programs` programs (tiers by weight, `a`-free signatures, no probe program) with distinct inputs each, runs
 * every (program, input) through the executor in one batch, and keeps the pairs with expressible outputs. A program
 * is kept when its outputs take at least two values (a constant program teaches nothing about reading inputs).
 */
export async function labelPrograms(
  sandbox: Sandbox,
  rng: Rng,
  options: LabelOptions,
  stats: ChunkStats,
): Promise<LabelledProgram[]> {
  const tierWeights = TIERS.map((t) => options.tiers[t]);
  const drawn: {
    program: string;
    lexemes: readonly string[];
    params: readonly ParamName[];
    tier: Tier;
    inputs: { source: string; args: Value[] }[];
  }[] = [];
  while (drawn.length < options.programs) {
    const tier = TIERS[rng.weighted(tierWeights)]!;
    const [lo, hi] = TIER_TARGET[tier];
    let p = generateProgram(rng, { targetLength: rng.range(lo, hi), maxLength: options.maxProgramLength ?? 24 });
    for (let k = 0; k < 50 && (p.params.includes('a') || tierOf(operationCount(p.lexemes)) !== tier); k++)
      p = generateProgram(rng, { targetLength: rng.range(lo, hi), maxLength: options.maxProgramLength ?? 24 });
    if (p.params.includes('a') || tierOf(operationCount(p.lexemes)) !== tier) continue;
    stats.programs++;
    const seen = new Set<string>();
    const inputs: { source: string; args: Value[] }[] = [];
    for (let k = 0; k < 4 * options.inputsPerProgram && inputs.length < options.inputsPerProgram; k++) {
      const args = generateArgs(rng, p.params);
      const source = argsSource(args);
      if (seen.has(source)) continue;
      seen.add(source);
      inputs.push({ source, args });
    }
    // checked after the inputs are drawn, so leaving a program out does not shift the draws of the others
    if (options.exclusion?.excludes(p.source) === true) {
      stats.probeExcluded++;
      continue;
    }
    drawn.push({ program: p.source, lexemes: p.lexemes, params: p.params, tier, inputs });
  }
  const jobs = drawn.flatMap((d) => d.inputs.map((i) => ({ program: d.program, input: i.source })));
  const results = await validateProposals(sandbox, jobs);
  stats.runs += jobs.length;
  let k = 0;
  const out: LabelledProgram[] = [];
  for (const d of drawn) {
    const pairs: LabelledProgram['pairs'][number][] = [];
    for (const input of d.inputs) {
      const r = results[k++]!;
      const output = r.ok ? valueFromOutput(r.output) : undefined;
      if (output === undefined) stats.invalidRuns++;
      else pairs.push({ input: input.source, args: input.args, output, simplest: input.source });
    }
    if (new Set(pairs.map((p) => valueSource(p.output))).size < 2) {
      stats.degenerate++;
      continue;
    }
    out.push({ program: d.program, lexemes: d.lexemes, params: d.params, tier: d.tier, pairs });
  }
  if (options.simplify ?? true) await simplifyInputs(sandbox, out, stats);
  return out;
}

const SIMPLEST: Readonly<Record<string, Value>> = { int: 0, str: '', arr: [] };

/**
 * For each labelled pair, tries the input with some of its arguments replaced by the simplest value of their type
 * (`0`, `""`, `[]`) and keeps, as `simplest`, the shortest variant the executor finds gives the same output. An
 * argument the program ignores is then written as `0`/`""`/`[]` in abduction answers instead of random noise.
 */
async function simplifyInputs(sandbox: Sandbox, programs: LabelledProgram[], stats: ChunkStats): Promise<void> {
  const variants: { program: LabelledProgram; pair: number; input: string; length: number }[] = [];
  for (const p of programs) {
    const n = p.params.length;
    p.pairs.forEach((pair, i) => {
      for (let mask = 1; mask < 1 << n; mask++) {
        const args = pair.args.map((a, j) => ((mask >> j) & 1 ? (SIMPLEST[valueType(a) ?? ''] ?? a) : a));
        const input = argsSource(args);
        if (input !== pair.input) variants.push({ program: p, pair: i, input, length: argsLexemes(args).length });
      }
    });
  }
  const results = await validateProposals(
    sandbox,
    variants.map((v) => ({ program: v.program.program, input: v.input })),
  );
  stats.runs += variants.length;
  const best = new Map<LabelledProgram['pairs'][number], number>();
  variants.forEach((v, k) => {
    const r = results[k]!;
    const pair = v.program.pairs[v.pair]!;
    const output = r.ok ? valueFromOutput(r.output) : undefined;
    if (output === undefined || !valueEquals(output, pair.output)) return;
    if (v.length < (best.get(pair) ?? argsLexemes(pair.args).length)) {
      best.set(pair, v.length);
      (pair as { simplest: string }).simplest = v.input;
    }
  });
}

// -----------------------------------------------------------------------------------------------------------
// Examples of the formats

/**
 * The `pretrain:` section's example options (src/config/pretrainConfig.ts declares and documents them: `references`
 * is the most K of a proposer prompt, each example drawing 1..K; `maxOutputShare` caps one output value's share among
 * a batch's solver deduction/abduction examples, default 1; `queries` asks further pairs of the same program after the
 * first answer, default 1; `traceShare` is the share of deduction answers with their gold trace, default 0, drawn per
 * query), and how many examples of what length.
 */
type ExampleOptions = Readonly<
  Pick<PretrainSection, 'formats' | 'references' | 'inductionInputs'> &
    Partial<Pick<PretrainSection, 'maxOutputShare' | 'queries' | 'traceShare' | 'traceOperands'>>
> & { readonly examples: number; readonly contextLength: number };

/**
 * A deduction answer's two segments: the gold trace (drawn with `share`; empty otherwise) with its operands as
 * `operands` says (src/azr/trace.ts), then the value.
 */
function deductionAnswer(
  t: Triplet,
  rng: Rng,
  share: number,
  operands: PretrainSection['traceOperands'] = 'names',
): [string[], string[]] {
  const gold = share > 0 && rng.chance(share) ? traceOf(t.program, t.input, { operands }) : undefined;
  return [gold === undefined ? [] : traceLexemes(gold.steps), valueLexemes(t.output)];
}

function programLexemes(program: string): string[] {
  const l = lex(program, 'program');
  if (!l.ok) throw new Error(`generated program does not lex: ${program}`);
  return l.lexemes;
}

function inputLexemes(input: string, params: readonly ParamName[]): string[] {
  const l = lex(input, 'args', { params });
  if (!l.ok) throw new Error(`generated input does not lex: ${input}`);
  return l.lexemes;
}

/** The induction task a labelled program gives (its first N pairs), or undefined when it has too few or trivial hidden outputs. */
function inductionTaskOf(p: LabelledProgram, n: number): InductionTask | undefined {
  if (p.pairs.length < n) return undefined;
  const pairs = p.pairs.slice(0, n);
  const task: InductionTask = {
    program: p.program,
    inputs: pairs.map((x) => x.input),
    outputs: pairs.map((x) => x.output),
    message: messageFor(p.lexemes),
  };
  const { hidden } = inductionSplit(task);
  if (hidden.every((h) => valueEquals(h.output, hidden[0]!.output))) return undefined;
  return task;
}

/**
 * The abduction answer taught for a pair: of the program's labelled inputs that give the same output, and their
 * simplified variants, the one with the fewest lexemes (first drawn on ties). Any such input is correct; one short
 * canonical choice makes the target less noisy.
 */
function simplestInput(p: LabelledProgram, output: Value): string {
  let best: { input: string; length: number } | null = null;
  for (const pair of p.pairs) {
    if (!valueEquals(pair.output, output)) continue;
    const length = inputLexemes(pair.simplest, p.params).length;
    if (best === null || length < best.length) best = { input: pair.simplest, length };
  }
  return best!.input;
}

function triplet(p: LabelledProgram, i: number): Triplet {
  const pair = p.pairs[i]!;
  return { program: p.program, input: pair.input, output: pair.output };
}

/**
 * Appends a further query on the same program to a solver example: the query's segment tag and lexemes, `<answer>`,
 * then the answer and `<end>` (the loss on the answer only). The program is read once for several answers.
 */
function appendQuery(
  ex: { tokens: number[]; lossMask: number[] },
  query: readonly string[],
  segments: readonly (readonly string[])[],
): void {
  const q = tokenizer.encode([...query, TAGS.segment.answer]);
  const a = segments.flatMap((seg) => [...tokenizer.encode(seg), tokenizer.endId]);
  ex.tokens.push(...q, ...a);
  ex.lossMask.push(...q.map(() => 0), ...a.map(() => 1));
}

/** The pairs one example of `p` asks about: `queries` of them (at least one), drawn without repeats. */
function queryTriplets(p: LabelledProgram, rng: Rng, o: ExampleOptions): [Triplet, ...Triplet[]] {
  return rng
    .shuffle(p.pairs.map((_, i) => i))
    .slice(0, Math.max(1, o.queries ?? 1))
    .map((i) => triplet(p, i)) as [Triplet, ...Triplet[]];
}

/** One example of `format` from `p` (and `others`, for proposer references). */
function makeExample(
  format: PretrainFormat,
  p: LabelledProgram,
  others: readonly LabelledProgram[],
  rng: Rng,
  o: ExampleOptions,
): PretrainExample | undefined {
  switch (format) {
    case 'solveDeduction': {
      const [t, ...more] = queryTriplets(p, rng, o);
      const prompt = solverPrompt({ type: 'deduction', program: t.program, input: t.input });
      const share = o.traceShare ?? 0;
      const ex = supervisedExample(prompt, deductionAnswer(t, rng, share, o.traceOperands));
      for (const q of more)
        appendQuery(
          ex,
          [TAGS.segment.input, ...inputLexemes(q.input, p.params)],
          deductionAnswer(q, rng, share, o.traceOperands),
        );
      return { format, ...ex, task: { format, triplet: t, more } };
    }
    case 'solveAbduction': {
      const [t, ...more] = queryTriplets(p, rng, o).map((x) => ({ ...x, input: simplestInput(p, x.output) })) as [
        Triplet,
        ...Triplet[],
      ];
      const prompt = solverPrompt({ type: 'abduction', program: t.program, output: t.output });
      const ex = supervisedExample(prompt, [[], inputLexemes(t.input, p.params)]);
      for (const q of more)
        appendQuery(ex, [TAGS.segment.output, ...valueLexemes(q.output)], [[], inputLexemes(q.input, p.params)]);
      return { format, ...ex, task: { format, triplet: t, more } };
    }
    case 'solveInduction': {
      const task = inductionTaskOf(p, o.inductionInputs);
      if (task === undefined) return undefined;
      const prompt = solverPrompt({
        type: 'induction',
        params: p.params,
        shown: inductionSplit(task).shown,
        message: task.message,
      });
      return {
        format,
        ...supervisedExample(prompt, [[], programLexemes(p.program)]),
        task: { format, induction: task },
      };
    }
    case 'proposeInduction': {
      const task = inductionTaskOf(p, o.inductionInputs);
      if (task === undefined) return undefined;
      const prompt = proposerPrompt({
        type: 'induction',
        program: p.program,
        params: p.params,
        inputs: o.inductionInputs,
      });
      const answer: string[] = [];
      task.inputs.forEach((input, i) => {
        if (i > 0) answer.push(INPUT_SEPARATOR);
        answer.push(...inputLexemes(input, p.params));
      });
      answer.push(MESSAGE_START, ...task.message.split(' '));
      return { format, ...supervisedExample(prompt, [answer]), task: { format, induction: task } };
    }
    case 'drillSteps':
      return drillExample(p, rng, o.contextLength);
    case 'copyReads':
      return copyReadsExample(p, rng, o);
    case 'proposeDeduction':
    case 'proposeAbduction': {
      const pool = others.filter((x) => x !== p);
      if (pool.length === 0) return undefined;
      const k = rng.range(1, Math.min(o.references, pool.length));
      const references = rng
        .shuffle(pool)
        .slice(0, k)
        .map((r) => triplet(r, rng.int(r.pairs.length)));
      const t = triplet(p, rng.int(p.pairs.length));
      const type = format === 'proposeDeduction' ? 'deduction' : 'abduction';
      const prompt = proposerPrompt({ type, references });
      return {
        format,
        ...supervisedExample(prompt, [programLexemes(t.program), inputLexemes(t.input, p.params)]),
        task: { format, triplet: t, references },
      };
    }
  }
}

/** The tokens of a trace step's end (`;`). */
const STEP_END_TOKENS = tokenizer.encode([TRACE_STEP_END]);

/** Appends a drilled step `lhs ⇒ value ;` with the loss on the value's tokens only. */
function appendDrilledStep(ex: { tokens: number[]; lossMask: number[] }, lhs: readonly string[], value: Value): void {
  const left = tokenizer.encode([...lhs, TRACE_ARROW]);
  const right = tokenizer.encode(valueLexemes(value));
  ex.tokens.push(...left, ...right, ...STEP_END_TOKENS);
  ex.lossMask.push(...left.map(() => 0), ...right.map(() => 1), ...STEP_END_TOKENS.map(() => 0));
}

/** Most tokens of a `drillSteps` example (prompt included): about a dozen one-operation runs. */
const DRILL_TOKENS = 96;

/**
 * A `drillSteps` example: the gold trace steps of `p` on its inputs, in random order, with every operand written as a
 * value (`7 % 3 ⇒ 1 ;`), one run after another up to {@link DRILL_TOKENS}, under the prompt `<solve> <deduction>
 * <answer>` (no program, no input). The loss is on each step's value only: the operations drilled on given values,
 * the trace step as an example of its own. Undefined when no run has a trace.
 */
function drillExample(p: LabelledProgram, rng: Rng, contextLength: number): PretrainExample | undefined {
  const prompt = tokenizer.encode([TAGS.role.solve, TAGS.type.deduction, TAGS.segment.answer]);
  const tokens = [...prompt];
  const lossMask = prompt.map(() => 0);
  const runs: Triplet[] = [];
  const limit = Math.min(DRILL_TOKENS, contextLength);
  for (const i of rng.shuffle(p.pairs.map((_, k) => k))) {
    const t = triplet(p, i);
    const gold = traceOf(t.program, t.input, { operands: 'values' });
    if (gold === undefined || gold.steps.length === 0) continue;
    const piece = { tokens: [] as number[], lossMask: [] as number[] };
    for (const step of gold.steps) appendDrilledStep(piece, step.lhs, step.value);
    if (tokens.length + piece.tokens.length + 1 > limit) continue;
    tokens.push(...piece.tokens);
    lossMask.push(...piece.lossMask);
    runs.push(t);
  }
  if (runs.length === 0) return undefined;
  tokens.push(tokenizer.endId);
  lossMask.push(0);
  return { format: 'drillSteps', tokens, lossMask, task: { format: 'drillSteps', runs } };
}

/**
 * A `copyReads` example: the prompt of a deduction task (program and input), then a read step for every parameter in
 * a random order (`s ⇒ " a c a " ; n ⇒ 5 ;`, as a trace with `traceOperands: reads` starts), then `<end>`; then, as
 * `queries` asks, further inputs of the same program, each read the same way. The loss is on each read's value only:
 * copying a value, often of several tokens, from the prompt into the completion.
 */
function copyReadsExample(p: LabelledProgram, rng: Rng, o: ExampleOptions): PretrainExample {
  const triplets = queryTriplets(p, rng, o);
  const [first] = triplets;
  const tokens = [...solverPrompt({ type: 'deduction', program: first.program, input: first.input }).tokens];
  const ex = { tokens, lossMask: tokens.map(() => 0) };
  triplets.forEach((t, k) => {
    if (k > 0) {
      const query = tokenizer.encode([TAGS.segment.input, ...inputLexemes(t.input, p.params), TAGS.segment.answer]);
      ex.tokens.push(...query);
      ex.lossMask.push(...query.map(() => 0));
    }
    const args = JSON.parse(`[${t.input}]`) as Value[];
    for (const i of rng.shuffle(p.params.map((_, j) => j))) appendDrilledStep(ex, [p.params[i]!], args[i]!);
    ex.tokens.push(tokenizer.endId);
    ex.lossMask.push(0);
  });
  return { format: 'copyReads', ...ex, task: { format: 'copyReads', triplets } };
}

/**
 * `o.examples` examples from labelled programs: each draws its format by weight and a program uniformly (one that can
 * serve the format: induction needs N inputs with hidden outputs not all equal). Examples longer than the context
 * are dropped and counted.
 */
export function buildExamples(
  programs: readonly LabelledProgram[],
  rng: Rng,
  o: ExampleOptions,
  stats: ChunkStats,
): PretrainExample[] {
  const weights = PRETRAIN_FORMATS.map((f) => o.formats[f] ?? 0);
  const induction = programs.filter((p) => inductionTaskOf(p, o.inductionInputs) !== undefined);
  const out: PretrainExample[] = [];
  if (programs.length === 0) return out;
  const total = weights.reduce((a, w) => a + w, 0);
  const cap = (f: PretrainFormat) =>
    Math.max(2, Math.ceil((o.maxOutputShare ?? 1) * o.examples * (weights[PRETRAIN_FORMATS.indexOf(f)]! / total)));
  const outputs = new Map<string, number>();
  for (let tries = 0; out.length < o.examples && tries < 4 * o.examples; tries++) {
    const format = PRETRAIN_FORMATS[rng.weighted(weights)]!;
    const from = format === 'solveInduction' || format === 'proposeInduction' ? induction : programs;
    if (from.length === 0) continue;
    const ex = makeExample(format, rng.pick(from), programs, rng, o);
    if (ex === undefined) continue;
    if (ex.tokens.length > o.contextLength + 1) {
      stats.tooLong++;
      continue;
    }
    if (ex.task.format === 'solveDeduction' || ex.task.format === 'solveAbduction') {
      const key = `${ex.format}:${valueSource(ex.task.triplet.output)}`;
      const n = outputs.get(key) ?? 0;
      if (n >= cap(ex.format)) continue;
      outputs.set(key, n + 1);
    }
    out.push(ex);
  }
  stats.examples += out.length;
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// The stream

/**
 * The data stream's options: the `pretrain:` section's data fields (src/config/pretrainConfig.ts declares and
 * documents them), the model's context length, and the probe programs left out.
 */
export type PretrainDataOptions = Readonly<
  Pick<
    PretrainSection,
    | 'formats'
    | 'tiers'
    | 'batchSize'
    | 'chunkBatches'
    | 'programsPerChunk'
    | 'references'
    | 'inductionInputs'
    | 'prefetch'
  > &
    Partial<Pick<PretrainSection, 'maxOutputShare' | 'queries' | 'traceShare' | 'traceOperands'>>
> & {
  readonly contextLength: number;
  readonly exclusion?: ProbeExclusion;
  /** The share of traced deduction answers moves from `traceShare` to `end` over `steps` training steps. */
  readonly traceShareSchedule?: { readonly end: number; readonly steps: number };
};

/**
 * The trace share of labelled chunk `index`: `traceShare`, or on its schedule the share at the chunk's first training
 * step (chunk k holds steps k·chunkBatches onward), linear from `traceShare` to the schedule's end at its last step.
 */
export function chunkTraceShare(o: PretrainDataOptions, index: number): number | undefined {
  const sched = o.traceShareSchedule;
  if (sched === undefined) return o.traceShare;
  const start = o.traceShare ?? 0;
  const t = sched.steps <= 1 ? 1 : Math.min(1, (index * o.chunkBatches) / (sched.steps - 1));
  return start + (sched.end - start) * t;
}

/**
 * The data a `pretrain:` section describes, probe programs left out: what the base build trains on (`build`: the
 * trace share on its schedule, if any) and, with the self-play learner's own batch size, what its supervised term
 * mixes in (`selfPlay`: the share the build ended with).
 */
export function pretrainDataOptions(
  p: PretrainSection,
  contextLength: number,
  exclusion: ProbeExclusion,
  overrides: Partial<Pick<PretrainDataOptions, 'batchSize' | 'prefetch'>> = {},
  phase: 'build' | 'selfPlay' = 'build',
): PretrainDataOptions {
  const scheduled = p.traceShareEnd !== undefined && phase === 'build';
  return {
    formats: p.formats,
    tiers: p.tiers,
    batchSize: p.batchSize,
    chunkBatches: p.chunkBatches,
    programsPerChunk: p.programsPerChunk,
    references: p.references,
    inductionInputs: p.inductionInputs,
    contextLength,
    prefetch: p.prefetch,
    maxOutputShare: p.maxOutputShare,
    queries: p.queries,
    traceShare: phase === 'selfPlay' ? (p.traceShareEnd ?? p.traceShare) : p.traceShare,
    ...(scheduled ? { traceShareSchedule: { end: p.traceShareEnd!, steps: p.steps } } : {}),
    ...(p.traceOperands === undefined ? {} : { traceOperands: p.traceOperands }),
    exclusion,
    ...overrides,
  };
}

/** Counters of a chunk (or of a stream) before anything was labelled. */
export const noStats = (): ChunkStats => ({
  programs: 0,
  probeExcluded: 0,
  degenerate: 0,
  runs: 0,
  invalidRuns: 0,
  examples: 0,
  tooLong: 0,
});

/** Labelled chunk `index`: a deterministic function of `rng` (the data stream's root) and the index. */
export async function labelChunk(
  sandbox: Sandbox,
  rng: Rng,
  index: number,
  o: PretrainDataOptions,
): Promise<{ batches: PretrainExample[][]; stats: ChunkStats }> {
  const stats = noStats();
  const r = rng.split(`chunk/${index}`);
  const programs = await labelPrograms(
    sandbox,
    r.split('programs'),
    {
      programs: o.programsPerChunk,
      tiers: o.tiers,
      inputsPerProgram: o.inductionInputs + 2,
      ...(o.exclusion ? { exclusion: o.exclusion } : {}),
    },
    stats,
  );
  const er = r.split('examples');
  const examples = buildExamples(
    programs,
    er,
    {
      formats: o.formats,
      examples: o.batchSize * o.chunkBatches,
      references: o.references,
      inductionInputs: o.inductionInputs,
      contextLength: o.contextLength,
      ...(o.maxOutputShare === undefined ? {} : { maxOutputShare: o.maxOutputShare }),
      ...(o.queries === undefined ? {} : { queries: o.queries }),
      ...(chunkTraceShare(o, index) === undefined ? {} : { traceShare: chunkTraceShare(o, index)! }),
      ...(o.traceOperands === undefined ? {} : { traceOperands: o.traceOperands }),
    },
    stats,
  );
  // length buckets: sort (stable, by length), cut into batches, shuffle the batch order
  const sorted = examples.map((e, i) => ({ e, i })).sort((a, b) => a.e.tokens.length - b.e.tokens.length || a.i - b.i);
  const batches: PretrainExample[][] = [];
  for (let i = 0; i + o.batchSize <= sorted.length; i += o.batchSize)
    batches.push(sorted.slice(i, i + o.batchSize).map((x) => x.e));
  return { batches: er.shuffle(batches), stats };
}

/**
 * Training batches in a fixed order, labelled through the executor a bounded distance ahead of the trainer: at most
 * `prefetch` chunks are in flight or waiting. Batch k is the same for a given seed whatever the timing.
 */
export class PretrainDataStream {
  private readonly chunks: Promise<{ batches: PretrainExample[][]; stats: ChunkStats }>[] = [];
  private nextChunk = 0;
  private current: PretrainExample[][] = [];
  private cursor = 0;
  readonly totals: ChunkStats = noStats();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly rng: Rng,
    private readonly options: PretrainDataOptions,
  ) {
    this.fill();
  }

  private fill(): void {
    while (this.chunks.length < this.options.prefetch)
      this.chunks.push(labelChunk(this.sandbox, this.rng, this.nextChunk++, this.options));
  }

  /** The next training batch. */
  async next(): Promise<PretrainExample[]> {
    for (let guard = 0; this.cursor >= this.current.length; guard++) {
      if (guard > 100)
        throw new Error(
          'pretraining data: 100 chunks in a row gave no batch (are the format weights or the context too small?)',
        );
      const chunk = await this.chunks.shift()!;
      this.fill();
      for (const k of Object.keys(this.totals) as (keyof ChunkStats)[]) this.totals[k] += chunk.stats[k];
      this.current = chunk.batches;
      this.cursor = 0;
    }
    return this.current[this.cursor++]!;
  }

  /** Waits for the chunks still being labelled (call before closing the sandbox). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.chunks);
  }
}
