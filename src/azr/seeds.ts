// The identity seeds every buffer starts from: f(a) = a, the only task data Absolute Zero begins with.

import { PAPER_DEFAULTS } from './defaults.js';
import { TaskBuffer, type BufferOptions } from './buffer.js';
import type { InductionTask, Triplet } from './tasks.js';
import { valueSource, type Value } from './lang/value.js';
import { MAX_INDUCTION_INPUTS } from './lang/lexemes.js';

/** The identity program, written in the task language (its `any` parameter takes any value). */
export const IDENTITY_PROGRAM = 'function f(a) { return a; }';

/** The string the deduction and abduction seed runs the identity on (the paper uses "Hello world"). */
const IDENTITY_INPUT: Value = 'abc';

/** Heterogeneous inputs of the induction seed, as the paper's (string, int, list, …), one per possible input. */
export const HETEROGENEOUS_INPUTS: readonly Value[] = [
  'abc',
  7,
  [1, 2, 3],
  true,
  '',
  -3,
  [],
  false,
  'Bad',
  12,
  [5, 0],
  'e',
  0,
  [9, 9, 4],
  'DEce',
  29,
];

/** The seed message: return what you are given. */
const IDENTITY_MESSAGE = 'same input';

/** The deduction/abduction seed triplet: identity on a string. */
export function identityTriplet(): Triplet {
  return { program: IDENTITY_PROGRAM, input: valueSource(IDENTITY_INPUT), output: IDENTITY_INPUT };
}

/** The induction seed: identity over the first `inputs` heterogeneous inputs (default 10, the paper's N). */
export function identityInductionTask(inputs: number = PAPER_DEFAULTS.inductionInputs): InductionTask {
  if (!Number.isInteger(inputs) || inputs < 2 || inputs > MAX_INDUCTION_INPUTS)
    throw new RangeError(`inputs must be an integer in 2..${MAX_INDUCTION_INPUTS}, got ${inputs}`);
  const values = HETEROGENEOUS_INPUTS.slice(0, inputs);
  return { program: IDENTITY_PROGRAM, inputs: values.map(valueSource), outputs: values, message: IDENTITY_MESSAGE };
}

/** Options of {@link seedBuffers}. */
interface SeedOptions {
  /** Induction inputs N (default 10). */
  readonly inputs?: number;
  /** Options of each of the three buffers. */
  readonly buffer?: BufferOptions;
}

/** The three buffers at step 0: deduction and abduction hold the identity triplet, induction the identity task. */
export function seedBuffers(options: SeedOptions = {}): {
  deduction: TaskBuffer<Triplet>;
  abduction: TaskBuffer<Triplet>;
  induction: TaskBuffer<InductionTask>;
} {
  const deduction = new TaskBuffer<Triplet>(options.buffer);
  const abduction = new TaskBuffer<Triplet>(options.buffer);
  const induction = new TaskBuffer<InductionTask>(options.buffer);
  deduction.add([identityTriplet()], 0);
  abduction.add([identityTriplet()], 0);
  induction.add([identityInductionTask(options.inputs)], 0);
  return { deduction, abduction, induction };
}

/** True for an identity program in any signature (it only returns one of its parameters), like the seeds. */
export function isIdentityProgram(program: string): boolean {
  const m = /^function f\(([\w, ]*)\) \{ return (\w+); \}$/.exec(program.replace(/\s+/g, ' ').trim());
  return (
    m !== null &&
    m[1]!
      .split(',')
      .map((p) => p.trim())
      .includes(m[2]!)
  );
}
