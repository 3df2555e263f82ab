// What each role is shown for each task type (the solver view, the proposer view) and what it must answer.

import { PAPER_DEFAULTS } from './defaults.js';
import type { SegmentContext } from './lang/automaton.js';
import type { ReferenceWeighting, TaskBuffer } from './buffer.js';
import type { ParamName } from './lang/grammar.js';
import type { Rng } from './rng.js';
import {
  inductionSplit,
  programParams,
  type InductionTask,
  type IOPair,
  type TaskOf,
  type TaskType,
  type Triplet,
} from './tasks.js';
import type { Value } from './lang/value.js';

/** What the solver is shown. Induction never shows the program, only its parameters, the shown pairs and the message. */
export type SolverView =
  | { readonly type: 'deduction'; readonly program: string; readonly input: string }
  | { readonly type: 'abduction'; readonly program: string; readonly output: Value }
  | {
      readonly type: 'induction';
      readonly params: readonly ParamName[];
      readonly shown: readonly IOPair[];
      readonly message: string;
    };

/** What the proposer is shown: K reference triplets, or (induction) one program and how many inputs to write. */
export type ProposerView =
  | { readonly type: 'deduction' | 'abduction'; readonly references: readonly Triplet[] }
  | {
      readonly type: 'induction';
      readonly program: string;
      readonly params: readonly ParamName[];
      readonly inputs: number;
    };

function paramsOf(program: string): readonly ParamName[] {
  const p = programParams(program);
  if (!p) throw new RangeError(`not a task-language program header: ${program.slice(0, 40)}`);
  return p;
}

/** The solver's view of a task of `type`. */
export function solverView<T extends TaskType>(type: T, task: TaskOf<T>): SolverView {
  if (type === 'induction') {
    const t = task as InductionTask;
    return { type, params: paramsOf(t.program), shown: inductionSplit(t).shown, message: t.message };
  }
  const t = task as Triplet;
  return type === 'deduction'
    ? { type, program: t.program, input: t.input }
    : { type: 'abduction', program: t.program, output: t.output };
}

/** The parameters of the task's program (induction: of the program to find); a reasoning trace may name them. */
export function viewParams(view: SolverView): readonly ParamName[] {
  return view.type === 'induction' ? view.params : paramsOf(view.program);
}

/** The constraint context of the solver's answer segment (ANSWER_KIND): the parameters its args or program take. */
export function answerContext(view: SolverView): SegmentContext | undefined {
  if (view.type === 'deduction') return undefined;
  return { params: view.type === 'abduction' ? paramsOf(view.program) : view.params };
}

/** Options of {@link proposerView}. */
interface ProposerViewOptions {
  /** References K (paper 6). */
  readonly k?: number;
  /** Default `uniform` (paper). */
  readonly weighting?: ReferenceWeighting;
  /** Induction inputs N (paper 10). */
  readonly inputs?: number;
}

/**
 * The proposer's view for `type`: K distinct references from that type's buffer, or for induction one program
 * drawn uniformly from the union of the deduction and abduction buffers (a seed in both counts twice, as in the
 * original) with the number of inputs to propose.
 */
export function proposerView(
  type: TaskType,
  buffers: { readonly deduction: TaskBuffer<Triplet>; readonly abduction: TaskBuffer<Triplet> },
  rng: Rng,
  options: ProposerViewOptions = {},
): ProposerView {
  if (type === 'induction') {
    const d = buffers.deduction.size;
    const total = d + buffers.abduction.size;
    if (total === 0) throw new RangeError('induction needs a program from the deduction or abduction buffer');
    const i = rng.int(total);
    const program = (i < d ? buffers.deduction.entries()[i]! : buffers.abduction.entries()[i - d]!).task.program;
    return { type, program, params: paramsOf(program), inputs: options.inputs ?? PAPER_DEFAULTS.inductionInputs };
  }
  const refs = buffers[type].references(options.k ?? PAPER_DEFAULTS.references, rng, options.weighting ?? 'uniform');
  return { type, references: refs.map((e) => e.task) };
}
