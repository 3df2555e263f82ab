// Task types as data: triplets, induction tasks, and the half-shown, half-hidden induction split.

import { accepts, TaskLanguageError, type SegmentKind } from './lang/automaton.js';
import { signatureOf, type ParamName } from './lang/grammar.js';
import { INPUT_SEPARATOR, MESSAGE_START } from './lang/lexemes.js';
import { joinLexemes } from './lang/render.js';
import type { Value } from './lang/value.js';

/** The three task types: deduction (predict o), abduction (find an i), induction (write p). */
export const TASK_TYPES = ['deduction', 'abduction', 'induction'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** The two roles of the one model. */
export const ROLES = ['propose', 'solve'] as const;
export type Role = (typeof ROLES)[number];

/**
 * A triplet (p, i, o) with o = p(i): `program` is the source of `function f(…) { … }`, `input` the source of an
 * argument list spliced into `f(…)`, `output` the value. Deduction and abduction tasks are triplets.
 */
export interface Triplet {
  readonly program: string;
  readonly input: string;
  readonly output: Value;
}

/** An induction task: a program, its N inputs and their outputs, and the proposer's message to the solver. */
export interface InductionTask {
  readonly program: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly Value[];
  readonly message: string;
}

export type Task = Triplet | InductionTask;
export type TaskOf<T extends TaskType> = T extends 'induction' ? InductionTask : Triplet;

/** One input (argument-list source) with its output. */
export interface IOPair {
  readonly input: string;
  readonly output: Value;
}

export function isInductionTask(task: Task): task is InductionTask {
  return 'inputs' in task;
}

/**
 * The induction split: of the N pairs, the first ⌊N/2⌋ are shown to the solver with the message and the rest
 * are hidden and grade its program (the paper: 10 pairs, 5 shown, 5 hidden). Needs N ≥ 2.
 */
export function inductionSplit(task: InductionTask): { shown: IOPair[]; hidden: IOPair[] } {
  const n = task.inputs.length;
  if (n < 2 || task.outputs.length !== n)
    throw new RangeError(
      `an induction task needs N ≥ 2 inputs with one output each, got ${n} and ${task.outputs.length}`,
    );
  const pairs = task.inputs.map((input, i) => ({ input, output: task.outputs[i]! }));
  const half = Math.floor(n / 2);
  return { shown: pairs.slice(0, half), hidden: pairs.slice(half) };
}

/** The parameters of a program's source (`function f(s, n) …` → `['s', 'n']`), or undefined if none matches. */
export function programParams(program: string): readonly ParamName[] | undefined {
  const m = /^\s*function\s+f\s*\(([^)]*)\)/.exec(program);
  if (!m) return undefined;
  const names = m[1]!.split(',').map((x) => x.trim());
  return signatureOf(names)?.params;
}

/** What each proposal is made of, segment by segment. */
export const PROPOSAL_SEGMENTS: Readonly<Record<TaskType, readonly SegmentKind[]>> = {
  deduction: ['program', 'args'],
  abduction: ['program', 'args'],
  induction: ['inputs+message'],
};

/** What kind of segment a solver's answer is, per task type: a value, an argument list, a program. */
export const ANSWER_KIND: Readonly<Record<TaskType, SegmentKind>> = {
  deduction: 'value',
  abduction: 'args',
  induction: 'program',
};

/**
 * Reads an induction proposal's lexemes (an `inputs+message` segment for these parameters) into its argument
 * lists' sources and its message. Throws TaskLanguageError when the lexemes are not such a segment.
 */
export function readInductionProposal(
  lexemes: readonly string[],
  params: readonly ParamName[],
  inputs: number,
): { inputs: string[]; message: string } {
  if (!accepts('inputs+message', lexemes, { params, inputs }))
    throw new TaskLanguageError(`not an induction proposal with ${inputs} inputs for (${params.join(', ')})`);
  const cut = lexemes.indexOf(MESSAGE_START);
  const out: string[] = [];
  let current: string[] = [];
  for (const l of lexemes.slice(0, cut)) {
    if (l === INPUT_SEPARATOR) {
      out.push(joinLexemes(current));
      current = [];
    } else current.push(l);
  }
  out.push(joinLexemes(current));
  return { inputs: out, message: lexemes.slice(cut + 1).join(' ') };
}
