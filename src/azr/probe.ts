// The probe set: held-out tasks in three difficulty tiers, the role CRUXEval and HumanEval play for the paper.

import { PAPER_DEFAULTS } from './defaults.js';
import { lex } from './lang/lex.js';
import { BINARY_OPS, type ParamName } from './lang/grammar.js';
import { generateArgs, generateProgram } from './lang/generate.js';
import { messageFor } from './lang/message.js';
import { endsUnit } from './lang/render.js';
import { Rng } from './rng.js';
import { isIdentityProgram } from './seeds.js';
import { inductionSplit, programParams, TASK_TYPES, type InductionTask, type TaskType, type Triplet } from './tasks.js';
import { argsSource, canonicalValue, valueEquals, valueSource, valuesFromLexemes, type Value } from './lang/value.js';

/** Difficulty tiers, by how many operations the program applies: 1, 2, or 3–5. */
export type Tier = 'easy' | 'medium' | 'hard';
export const TIERS: readonly Tier[] = ['easy', 'medium', 'hard'];

/** A task with its type. */
type TypedTask =
  | ({ readonly type: 'deduction' } & Triplet)
  | ({ readonly type: 'abduction' } & Triplet)
  | ({ readonly type: 'induction' } & InductionTask);

/** One line of `scenarios/probe.jsonl`. */
export interface ProbeTask {
  readonly id: string;
  readonly tier: Tier;
  readonly task: TypedTask;
}

/** The result of running `f(args)` once: a value, or an error. */
type Execution = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };
/** Runs a program on an argument list's source (the sandbox's job; injected, so this module does no execution). */
export type Execute = (program: string, args: string) => Execution;

interface ProbeOptions {
  /** Default `azr-probe-v1`, the seed of the committed file. */
  readonly seed?: number | string;
  /** Tasks per (type, tier). Default 40: 3 × 3 × 40 = 360 tasks. */
  readonly perTier?: number;
  /** Induction inputs N. Default 10 (the paper's). */
  readonly inputs?: number;
}

const OPERATORS = new Set([
  ...BINARY_OPS.map((o) => o.lexeme),
  '!',
  '?',
  'if (',
  'Math.max(',
  'Math.min(',
  'Math.abs(',
]);

/** How many operations a program applies: methods, indexing, operators, conditionals and calls. */
export function operationCount(lexemes: readonly string[]): number {
  let n = 0;
  let prev: string | null = null;
  let inString = false;
  for (const l of lexemes) {
    if (l === '"') inString = !inString;
    else if (!inString) {
      if (l.startsWith('.') || OPERATORS.has(l) || (l === '[' && prev !== null && endsUnit(prev))) n++;
    }
    prev = l === '"' && !inString ? '""' : l;
  }
  return n;
}

/** The tier of a program with `ops` operations, or undefined outside 1..5. */
export function tierOf(ops: number): Tier | undefined {
  return ops === 1 ? 'easy' : ops === 2 ? 'medium' : ops >= 3 && ops <= 5 ? 'hard' : undefined;
}

const TARGET: Readonly<Record<Tier, readonly [number, number]>> = { easy: [7, 9], medium: [9, 13], hard: [12, 18] };

function run(execute: Execute, program: string, args: string): Value | undefined {
  const r = execute(program, args);
  return r.ok ? canonicalValue(r.value) : undefined;
}

function argValues(input: string, params: readonly ParamName[]): Value[] {
  const l = lex(input, 'args', { params });
  if (!l.ok)
    throw new RangeError(`probe input ${input} is not an argument list for (${params.join(', ')}): ${l.error}`);
  return valuesFromLexemes(l.lexemes);
}

/**
 * Generates the probe set: for each type and tier, `perTier` tasks from programs drawn by the grammar generator
 * and labelled by `execute`. A program is kept only if it is not an identity, has one of the `a`-free
 * signatures, gives at least two different expressible outputs on six random inputs (not constant), and has
 * not been used before. Then, per type: deduction drops tasks whose output equals an argument, abduction drops
 * tasks that writing the output back as the arguments solves (and see below), induction needs all N outputs expressible, the
 * hidden outputs not all equal, and not all equal to the first argument (so neither a constant nor the identity
 * passes), and abduction drops outputs that more than 2 of 12 random inputs produce (guessable). At most 5% of a
 * type's deduction or abduction tasks share one output. Deterministic in the seed.
 */
export function generateProbe(execute: Execute, options: ProbeOptions = {}): ProbeTask[] {
  const seed = options.seed ?? 'azr-probe-v1';
  const perTier = options.perTier ?? 40;
  const n = options.inputs ?? PAPER_DEFAULTS.inductionInputs;
  const root = new Rng(seed);
  const used = new Set<string>();
  const out: ProbeTask[] = [];
  for (const type of TASK_TYPES) {
    const sameOutputCap = Math.max(2, Math.floor(0.05 * perTier * TIERS.length));
    const outputCounts = new Map<string, number>();
    for (const tier of TIERS) {
      const rng = root.split(`${type}/${tier}`);
      let made = 0;
      for (let attempt = 0; made < perTier; attempt++) {
        if (attempt > 200_000) throw new Error(`probe: cannot find ${perTier} ${tier} ${type} tasks`);
        const [lo, hi] = TARGET[tier];
        const p = generateProgram(rng, { targetLength: rng.range(lo, hi), maxLength: 24 });
        if (p.params.includes('a') || used.has(p.source) || isIdentityProgram(p.source)) continue;
        if (tierOf(operationCount(p.lexemes)) !== tier) continue;
        const trials = Array.from({ length: 6 }, () => argsSource(generateArgs(rng, p.params)));
        const results = trials.map((a) => run(execute, p.source, a));
        const distinct = new Set(results.filter((v) => v !== undefined).map((v) => valueSource(v!)));
        if (distinct.size < 2) continue;
        let task: TypedTask;
        if (type === 'induction') {
          const inputs = new Set<string>();
          for (let k = 0; k < 40 && inputs.size < n; k++) inputs.add(argsSource(generateArgs(rng, p.params)));
          if (inputs.size < n) continue;
          const list = [...inputs];
          const outputs = list.map((a) => run(execute, p.source, a));
          if (outputs.some((v) => v === undefined)) continue;
          const t: InductionTask = {
            program: p.source,
            inputs: list,
            outputs: outputs as Value[],
            message: messageFor(p.lexemes),
          };
          const { hidden } = inductionSplit(t);
          if (hidden.every((h) => valueEquals(h.output, hidden[0]!.output))) continue;
          if (hidden.every((h) => valueEquals(h.output, argValues(h.input, p.params)[0]!))) continue;
          task = { type, ...t };
        } else {
          const k = results.findIndex((v) => v !== undefined);
          const input = trials[k]!;
          const output = results[k]!;
          const key = valueSource(output);
          if ((outputCounts.get(key) ?? 0) >= sameOutputCap) continue;
          if (type === 'deduction' && argValues(input, p.params).some((v) => valueEquals(v, output))) continue;
          if (type === 'abduction') {
            // an output that random inputs hit often is guessed, not inferred
            const extra = Array.from({ length: 6 }, () =>
              run(execute, p.source, argsSource(generateArgs(rng, p.params))),
            );
            if ([...results, ...extra].filter((v) => v !== undefined && valueEquals(v, output)).length > 2) continue;
            const copy = run(execute, p.source, p.params.map(() => key).join(', '));
            if (copy !== undefined && valueEquals(copy, output)) continue;
          }
          outputCounts.set(key, (outputCounts.get(key) ?? 0) + 1);
          task = { type, program: p.source, input, output };
        }
        used.add(p.source);
        out.push({ id: `${type}-${tier}-${String(made).padStart(2, '0')}`, tier, task });
        made++;
      }
    }
  }
  return out;
}

/** The probe as JSONL: one task per line, keys in a fixed order, ending with a newline. */
export function probeToJsonl(tasks: readonly ProbeTask[]): string {
  return tasks.map((t) => JSON.stringify({ id: t.id, tier: t.tier, task: t.task })).join('\n') + '\n';
}

/** Reads probe JSONL, checking each line's shape. */
export function parseProbeJsonl(text: string): ProbeTask[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      const t = JSON.parse(line) as ProbeTask;
      const ok =
        typeof t.id === 'string' &&
        TIERS.includes(t.tier) &&
        typeof t.task === 'object' &&
        TASK_TYPES.includes(t.task.type) &&
        typeof t.task.program === 'string';
      if (!ok) throw new RangeError(`probe line ${i + 1} is not a probe task`);
      return t;
    });
}

/** Share of tasks per type that an answer strategy passes. */
type BaselineScores = Readonly<Record<TaskType, number>>;

/**
 * The trivial baselines a probe score must beat, graded as the real answers are:
 * - `copy` (input-copy): deduction answers the first argument; abduction writes the output back as every
 *   argument; induction answers the identity `return <first parameter>;`.
 * - `constant`: deduction answers the single most frequent output (best in hindsight); abduction, per
 *   signature, the one gold input that solves the most *other* tasks of that signature (best in hindsight); induction, per task, a program
 *   returning the most frequent shown output.
 */
export function probeBaselines(
  tasks: readonly ProbeTask[],
  execute: Execute,
): { copy: BaselineScores; constant: BaselineScores } {
  const byType = (type: TaskType) => tasks.filter((t) => t.task.type === type).map((t) => t.task);
  const share = (pass: number, total: number) => (total === 0 ? 0 : pass / total);
  const params = (program: string) => programParams(program)!;

  const ded = byType('deduction') as Triplet[];
  const dedCopy = ded.filter((t) => valueEquals(argValues(t.input, params(t.program))[0]!, t.output)).length;
  const freq = new Map<string, number>();
  for (const t of ded) freq.set(valueSource(t.output), (freq.get(valueSource(t.output)) ?? 0) + 1);
  const dedConst = Math.max(0, ...freq.values());

  const abd = byType('abduction') as Triplet[];
  const passes = (t: Triplet, args: string) => {
    const v = run(execute, t.program, args);
    return v !== undefined && valueEquals(v, t.output);
  };
  const abdCopy = abd.filter((t) =>
    passes(
      t,
      params(t.program)
        .map(() => valueSource(t.output))
        .join(', '),
    ),
  ).length;
  let abdConst = 0;
  const bySig = new Map<string, Triplet[]>();
  for (const t of abd) bySig.set(params(t.program).join(','), [...(bySig.get(params(t.program).join(',')) ?? []), t]);
  for (const group of bySig.values())
    abdConst += Math.max(...group.map((c) => group.filter((t) => t !== c && passes(t, c.input)).length));

  const ind = byType('induction') as InductionTask[];
  const solves = (t: InductionTask, program: string) =>
    inductionSplit(t).hidden.every((h) => {
      const v = run(execute, program, h.input);
      return v !== undefined && valueEquals(v, h.output);
    });
  const indCopy = ind.filter((t) => {
    const ps = params(t.program);
    return solves(t, `function f(${ps.join(', ')}) { return ${ps[0]}; }`);
  }).length;
  const indConst = ind.filter((t) => {
    const shown = inductionSplit(t).shown.map((p) => valueSource(p.output));
    const top = shown.sort((a, b) => shown.filter((x) => x === b).length - shown.filter((x) => x === a).length)[0]!;
    return solves(t, `function f(${params(t.program).join(', ')}) { return ${top}; }`);
  }).length;

  return {
    copy: {
      deduction: share(dedCopy, ded.length),
      abduction: share(abdCopy, abd.length),
      induction: share(indCopy, ind.length),
    },
    constant: {
      deduction: share(dedConst, ded.length),
      abduction: share(abdConst, abd.length),
      induction: share(indConst, ind.length),
    },
  };
}
