// Gold reasoning traces: an instrumented evaluation of a task-language program on one input, written as the
// execution trace a solver may produce before its answer (issue 2/4, "reasoning before answering").
//
// A trace is one step per operation, in evaluation order, on values already known:
//   `s .length ⇒ 2 ; 2 % 6 ⇒ 2 ; 2 - 4 ⇒ -2 ; -2 - 5 ⇒ -7 ;`
// Each step's left side is the operation with its operands written as values — the results of earlier steps,
// restated — except the function's parameters, which keep their names (the input is read where the prompt shows
// it, never copied); its right side restates the running value. A method that takes a function (`.map(x => …)`,
// `.filter(x => …)`, `.reduce((p, x) => …, 0)`) is one step whose lambda body is shown as source. Conditionals and
// `if` statements show the test's steps, then only the branch taken. A program that changes a parameter
// (`xs.reverse()`) has no trace: its name would no longer say its value. The trace exists only when every step's operands and value are expressible (small ints, short strings
// and arrays, booleans; not the string arrays of `.split(`); otherwise the program has no gold trace (undefined) and
// its examples answer directly.
//
// Evaluation runs the operations as JavaScript does (the same operators and built-in methods, on plain values),
// restricted to the task language's grammar; programs have no loops, so it is bounded by the program's size.

import { parse } from 'acorn';
import { TRACE_ARROW } from './lang/lexemes.js';
import { valueLexemes, valueType, type Value } from './lang/value.js';

/** Ends a trace step (the task language's statement terminator, reused). */
export const TRACE_STEP_END = ';';

/** One step: the operation on known values (lexemes) and its value. */
interface TraceStep {
  readonly lhs: readonly string[];
  readonly value: Value;
}

/**
 * Default lexeme budgets of the solver's reasoning trace per task type: deduction reasons by forward evaluation
 * (the probe's deduction traces: median 15 lexemes, 90th percentile 44); abduction and induction answer directly.
 */
export const DEFAULT_TRACE_BUDGETS: Readonly<Record<'deduction' | 'abduction' | 'induction', number>> = {
  deduction: 64,
  abduction: 0,
  induction: 0,
};

/** Most steps in a gold trace; a longer evaluation has none. */
const MAX_TRACE_STEPS = 24;

/** A trace's lexemes: each step's left side, `⇒`, the value's lexemes, `;`. */
export function traceLexemes(steps: readonly TraceStep[]): string[] {
  return steps.flatMap((s) => [...s.lhs, TRACE_ARROW, ...valueLexemes(s.value), TRACE_STEP_END]);
}

/** Why there is no gold trace (thrown inside the evaluation, caught by {@link traceOf}). */
class NoTrace extends Error {}

/** The next step's left side once the given values run out (thrown in the evaluation, caught by nextTraceStep). */
class NextStep extends Error {
  constructor(readonly lhs: string[]) {
    super('the next step');
  }
}

type Node = { type: string; [k: string]: any };
type Env = ReadonlyMap<string, unknown>;

const OPS: Readonly<Record<string, (l: any, r: any) => unknown>> = {
  '*': (l, r) => l * r,
  '%': (l, r) => l % r,
  '+': (l, r) => l + r,
  '-': (l, r) => l - r,
  '<': (l, r) => l < r,
  '<=': (l, r) => l <= r,
  '>': (l, r) => l > r,
  '>=': (l, r) => l >= r,
  '===': (l, r) => l === r,
  '!==': (l, r) => l !== r,
};

/** Methods without arguments, written as one lexeme. */
const NULLARY: Readonly<Record<string, string>> = {
  toUpperCase: '.toUpperCase()',
  toLowerCase: '.toLowerCase()',
  reverse: '.reverse()',
};

/** Methods that take plain values (`.slice(` args `)`). */
const METHODS = new Set([
  'slice',
  'split',
  'includes',
  'startsWith',
  'endsWith',
  'indexOf',
  'at',
  'replace',
  'concat',
  'join',
]);
/** Methods whose argument is `x => body`. */
const LAMBDA_METHODS = new Set(['map', 'filter', 'some', 'every']);
const MATH = new Set(['max', 'min', 'abs']);

/** The lexemes of a known value; throws NoTrace when it is not expressible. */
function lexemesOf(v: unknown): string[] {
  if (valueType(v) === undefined) throw new NoTrace();
  return valueLexemes(v as Value);
}

class Tracer {
  readonly steps: TraceStep[] = [];

  constructor(
    private readonly record: boolean,
    private readonly params: ReadonlySet<string> = new Set(),
    /** With operands as values: the parameters' values, written in lambda bodies in place of their names. */
    private readonly inline: Env = new Map(),
    /** Record a read step (`n ⇒ 5 ;`) where a parameter is first used (operands as values: `'reads'`). */
    private readonly reads = false,
    /**
     * The steps' values as written (a solver's trace so far): each step takes the next of them instead of its own,
     * and the step after the last throws NextStep with its left side. Undefined: every step computes its value.
     */
    private readonly given?: readonly Value[],
  ) {}

  /** Each read parameter's value as its read step wrote it. */
  private readonly read = new Map<string, unknown>();

  /** A variable's `value`, or for a parameter with `reads`, its value as its read step (at its first use) wrote it. */
  private readParam(name: string, value: unknown): unknown {
    if (!this.reads || !this.record || !this.inline.has(name)) return value;
    if (!this.read.has(name))
      this.read.set(
        name,
        this.step(() => [name], value),
      );
    return this.read.get(name);
  }

  /** An operand as the step writes it: a parameter by its name, anything else by its value. */
  private operand(n: Node, value: unknown): string[] {
    let node = n;
    while (node.type === 'ParenthesizedExpression') node = node.expression;
    return node.type === 'Identifier' && this.params.has(node.name) ? [node.name] : lexemesOf(value);
  }

  /** Records `lhs() ⇒ value` (the left side is written only when recording: inside a lambda nothing is). */
  private step(lhs: () => string[], value: unknown): unknown {
    if (this.record && this.given) {
      if (this.steps.length >= MAX_TRACE_STEPS) throw new NoTrace();
      const written = lhs();
      const v = this.given[this.steps.length];
      if (v === undefined) throw new NextStep(written);
      this.steps.push({ lhs: written, value: copy(v) });
      return copy(v);
    }
    if (this.record) {
      lexemesOf(value); // the value must be expressible
      if (this.steps.length >= MAX_TRACE_STEPS) throw new NoTrace();
      this.steps.push({ lhs: lhs(), value: copy(value as Value) });
    }
    return value;
  }

  /** Source lexemes of an expression (a lambda body), variables by name. */
  source(n: Node): string[] {
    switch (n.type) {
      case 'Identifier':
        if (!this.inline.has(n.name)) return [n.name];
        return lexemesOf(this.readParam(n.name, this.inline.get(n.name)));
      case 'Literal':
        return lexemesOf(n.value);
      case 'UnaryExpression':
        if (n.operator === '-' && n.argument.type === 'Literal') return [String(-n.argument.value)];
        return ['!', ...this.source(n.argument)];
      case 'ParenthesizedExpression':
        return ['(', ...this.source(n.expression), ')'];
      case 'ArrayExpression':
        if (n.elements.length === 0) return ['[]'];
        return ['[', ...n.elements.flatMap((e: Node, i: number) => [...(i > 0 ? [','] : []), ...this.source(e)]), ']'];
      case 'BinaryExpression':
      case 'LogicalExpression':
        return [...this.source(n.left), n.operator, ...this.source(n.right)];
      case 'ConditionalExpression':
        return [...this.source(n.test), '?', ...this.source(n.consequent), ':', ...this.source(n.alternate)];
      case 'MemberExpression':
        if (n.computed) return [...this.source(n.object), '[', ...this.source(n.property), ']'];
        return [...this.source(n.object), '.length'];
      case 'CallExpression':
        return this.callLexemes(n, (a) => this.source(a));
      default:
        throw new NoTrace();
    }
  }

  /** `receiver .method( args )` with each part from `part`; lambdas always as source. */
  private callLexemes(n: Node, part: (a: Node) => string[]): string[] {
    const callee = n.callee as Node;
    if (callee.type !== 'MemberExpression' || callee.computed) throw new NoTrace();
    const name = callee.property.name as string;
    const args = n.arguments as Node[];
    if (callee.object.type === 'Identifier' && callee.object.name === 'Math' && MATH.has(name))
      return [`Math.${name}(`, ...joinArgs(args.map(part)), ')'];
    const receiver = part(callee.object);
    if (name in NULLARY && args.length === 0) return [...receiver, NULLARY[name]!];
    if (name === 'sort') return [...receiver, args.length === 0 ? '.sort()' : '.sort((u, v) => u - v)'];
    if (LAMBDA_METHODS.has(name)) return [...receiver, `.${name}(x =>`, ...this.source(args[0]!.body), ')'];
    if (name === 'reduce')
      return [...receiver, '.reduce((p, x) =>', ...this.source(args[0]!.body), ',', ...part(args[1]!), ')'];
    if (METHODS.has(name)) return [...receiver, `.${name}(`, ...joinArgs(args.map(part)), ')'];
    throw new NoTrace();
  }

  /** Evaluates an expression, recording a step for each operation. */
  eval(n: Node, env: Env): unknown {
    switch (n.type) {
      case 'Identifier':
        if (!env.has(n.name)) throw new NoTrace();
        return this.readParam(n.name, env.get(n.name));
      case 'Literal':
        return n.value;
      case 'ParenthesizedExpression':
        return this.eval(n.expression, env);
      case 'ArrayExpression':
        return n.elements.map((e: Node) => this.eval(e, env));
      case 'UnaryExpression': {
        if (n.operator === '-' && n.argument.type === 'Literal') return -n.argument.value;
        if (n.operator !== '!') throw new NoTrace();
        const v = this.eval(n.argument, env);
        return this.step(() => ['!', ...this.operand(n.argument, v)], !v);
      }
      case 'BinaryExpression': {
        const op = OPS[n.operator];
        if (!op) throw new NoTrace();
        const l = this.eval(n.left, env);
        const r = this.eval(n.right, env);
        return this.step(() => [...this.operand(n.left, l), n.operator, ...this.operand(n.right, r)], op(l, r));
      }
      case 'LogicalExpression': {
        const l = this.eval(n.left, env);
        if (n.operator === '&&' ? !l : l) return l; // short circuit: the right side is not evaluated
        const r = this.eval(n.right, env);
        return this.step(() => [...this.operand(n.left, l), n.operator, ...this.operand(n.right, r)], r);
      }
      case 'ConditionalExpression':
        return this.eval(n.test, env) ? this.eval(n.consequent, env) : this.eval(n.alternate, env);
      case 'MemberExpression': {
        const o = this.eval(n.object, env) as any;
        if (!n.computed) {
          if (n.property.name !== 'length') throw new NoTrace();
          return this.step(() => [...this.operand(n.object, o), '.length'], o.length);
        }
        const i = this.eval(n.property, env) as any;
        return this.step(() => [...this.operand(n.object, o), '[', ...this.operand(n.property, i), ']'], o[i]);
      }
      case 'CallExpression':
        return this.call(n, env);
      default:
        throw new NoTrace();
    }
  }

  private call(n: Node, env: Env): unknown {
    const callee = n.callee as Node;
    if (callee.type !== 'MemberExpression' || callee.computed) throw new NoTrace();
    const name = callee.property.name as string;
    const args = n.arguments as Node[];
    if (callee.object.type === 'Identifier' && callee.object.name === 'Math') {
      if (!MATH.has(name)) throw new NoTrace();
      const vs = args.map((a) => this.eval(a, env)) as number[];
      return this.step(
        () => [`Math.${name}(`, ...joinArgs(vs.map((v, k) => this.operand(args[k]!, v))), ')'],
        (Math as any)[name](...vs),
      );
    }
    // a string array (from .split) is no value of the language: its steps could not be written
    if (name === 'split') throw new NoTrace();
    const receiver = this.eval(callee.object, env) as any;
    const known = new Map<Node, unknown>([[callee.object, receiver]]);
    const plain = (a: Node): unknown => {
      if (!known.has(a)) known.set(a, this.eval(a, env));
      return known.get(a);
    };
    let fn: unknown[] = [];
    if (LAMBDA_METHODS.has(name)) {
      const body = args[0]!.body as Node;
      fn = [(x: unknown) => silent(body, new Map([...env, ['x', x]]))];
    } else if (name === 'reduce') {
      const body = args[0]!.body as Node;
      fn = [(p: unknown, x: unknown) => silent(body, new Map([...env, ['p', p], ['x', x]])), plain(args[1]!)];
    } else if (name === 'sort') {
      fn = args.length === 0 ? [] : [(u: number, v: number) => u - v];
    } else if (name in NULLARY || METHODS.has(name)) {
      fn = args.map(plain);
    } else throw new NoTrace();
    if (typeof receiver !== 'string' && !Array.isArray(receiver)) throw new NoTrace();
    // written before the call: .reverse() and .sort() change their receiver
    const lhs = this.record ? this.callLexemes(n, (a) => this.operand(a, plain(a))) : [];
    return this.step(() => lhs, (receiver as any)[name](...fn));
  }

  /** Runs a function body's statements (`if (…) return …;` … `return …;`). */
  run(body: readonly Node[], env: Env): unknown {
    for (const s of body) {
      if (s.type === 'ReturnStatement') return this.eval(s.argument, env);
      if (s.type === 'IfStatement' && s.consequent.type === 'ReturnStatement' && !s.alternate) {
        if (this.eval(s.test, env)) return this.eval(s.consequent.argument, env);
        continue;
      }
      throw new NoTrace();
    }
    throw new NoTrace();
  }
}

function joinArgs(parts: readonly string[][]): string[] {
  return parts.flatMap((p, i) => [...(i > 0 ? [','] : []), ...p]);
}

/** A lambda body evaluated without steps of its own (the method call is the step). */
function silent(body: Node, env: Env): unknown {
  return new Tracer(false).eval(body, env);
}

function copy(v: Value): Value {
  return Array.isArray(v) ? [...(v as number[])] : v;
}

/** The program's function declaration (parameters and statements), parsed with acorn. */
function parseProgram(program: string): { params: string[]; body: Node[] } {
  const ast = parse(program, { ecmaVersion: 2022, preserveParens: true }) as unknown as Node;
  const fn = ast.body?.[0] as Node | undefined;
  if (ast.body.length !== 1 || fn?.type !== 'FunctionDeclaration') throw new NoTrace();
  return { params: (fn.params as Node[]).map((p) => p.name as string), body: fn.body.body as Node[] };
}

/** The gold trace of `program` on the argument list `input` (source), with the output it reaches. */
export interface GoldTrace {
  readonly steps: readonly TraceStep[];
  readonly output: Value;
}

/**
 * The gold trace of a task-language program on one input (an argument list's source, e.g. `"ea", 3`), or
 * undefined when some step's operand or value is not expressible, the program is not in the task language, or the
 * evaluation takes more than {@link MAX_TRACE_STEPS} steps. The output is the program's (as the executor computes
 * it; a test checks the two agree). `operands: 'values'` writes the parameters by their values too (`"ea" .length ⇒ 2`):
 * steps that stand without the program and its input, as pretraining's `drillSteps` format drills them. `operands:
 * 'reads'` does too, after a read step where each parameter is first used (`s ⇒ "ea" ; "ea" .length ⇒ 2 ; …`): the
 * input is looked up once, by name, in a step of its own, and every operation is then on values.
 */
export function traceOf(
  program: string,
  input: string,
  options: { readonly operands?: 'names' | 'values' | 'reads' } = {},
): GoldTrace | undefined {
  try {
    const { params, body } = parseProgram(program);
    const args = JSON.parse(`[${input}]`) as unknown[];
    const given = JSON.stringify(args);
    if (args.length !== params.length) return undefined;
    const env = new Map(params.map((p, i) => [p, args[i]]));
    const operands = options.operands ?? 'names';
    const tracer =
      operands === 'names'
        ? new Tracer(true, new Set(params))
        : new Tracer(true, new Set(), new Map(env), operands === 'reads');
    const output = tracer.run(body, env);
    if (valueType(output) === undefined) return undefined;
    if (JSON.stringify(params.map((p) => env.get(p))) !== given) return undefined; // it changed a parameter
    return { steps: tracer.steps, output: copy(output as Value) };
  } catch (e) {
    if (e instanceof NoTrace || e instanceof SyntaxError || e instanceof TypeError || e instanceof RangeError)
      return undefined;
    throw e;
  }
}

/** What comes next in a trace that follows its program: the next step's left side, the end, or no step at all. */
export type NextTraceStep =
  { readonly kind: 'step'; readonly lhs: readonly string[] } | { readonly kind: 'done' } | { readonly kind: 'stuck' };

/**
 * The next step of `program`'s trace on `input` (operands as in {@link traceOf}) after steps whose values were
 * written as `given`: the evaluation runs with each step's value taken from `given`, never computed, so the left
 * side that follows is the program's next operation on the values as written (a branch follows the test's written
 * value). `done` when the evaluation has returned after exactly those steps; `stuck` when it cannot go on (a written
 * value of a type the operation cannot take, more steps than a trace may have, a program outside the language).
 */
export function nextTraceStep(
  program: string,
  input: string,
  given: readonly Value[],
  operands: 'names' | 'reads' = 'names',
): NextTraceStep {
  try {
    const { params, body } = parseProgram(program);
    const args = JSON.parse(`[${input}]`) as unknown[];
    if (args.length !== params.length) return { kind: 'stuck' };
    const env = new Map(params.map((p, i) => [p, args[i]]));
    const tracer =
      operands === 'names'
        ? new Tracer(true, new Set(params), new Map(), false, given)
        : new Tracer(true, new Set(), new Map(env), true, given);
    tracer.run(body, env);
    return tracer.steps.length === given.length ? { kind: 'done' } : { kind: 'stuck' };
  } catch (e) {
    if (e instanceof NextStep) return { kind: 'step', lhs: e.lhs };
    if (e instanceof NoTrace || e instanceof SyntaxError || e instanceof TypeError || e instanceof RangeError)
      return { kind: 'stuck' };
    throw e;
  }
}
