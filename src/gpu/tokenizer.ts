// The model's vocabulary (pad, role/type/segment tags, the task language's lexemes), prompt encodings of the six views, and grammar constraints as TokenConstraints.
//
// Token ids: 0 = <pad> (fills masked columns only), then the tags, then LEXEMES in their order (LEXEMES[0] is the
// end marker <end>, which closes every answer segment). A prompt is tags and lexemes ending in <answer>; an answer
// is one or more segments, each closed by <end>: `program <end> args <end>` for a deduction/abduction proposal.

import {
  advance,
  allowedMask,
  isComplete,
  minToFinish,
  paramsOfProgram,
  start,
  type AutomatonState,
  type SegmentContext,
  type SegmentKind,
} from '../azr/lang/automaton.js';
import { signatureOf } from '../azr/lang/grammar.js';
import {
  traceAdvance,
  traceAllowedMask,
  traceComplete,
  traceMinToFinish,
  traceStart,
  type TraceState,
} from '../azr/lang/traceAutomaton.js';
import { lex } from '../azr/lang/lex.js';
import {
  scaffoldAdvance,
  scaffoldAllowedMask,
  scaffoldComplete,
  scaffoldMinToFinish,
  scaffoldStart,
  type ScaffoldState,
  type TraceScaffold,
  type TraceScaffoldTask,
} from '../azr/traceScaffold.js';
import { END, LEXEMES } from '../azr/lang/lexemes.js';
import { ANSWER_KIND, type Role, type TaskType, type Triplet } from '../azr/tasks.js';
import { valueLexemes, type Value } from '../azr/lang/value.js';
import { viewParams, type ProposerView, type SolverView } from '../azr/views.js';
import type { TokenConstraint } from './sampler.js';

const PAD = '<pad>';

/** Role, task-type and segment tags, in vocabulary order. */
export const TAGS = {
  role: { propose: '<propose>', solve: '<solve>' },
  type: { deduction: '<deduction>', abduction: '<abduction>', induction: '<induction>' },
  segment: {
    references: '<references>',
    program: '<program>',
    input: '<input>',
    output: '<output>',
    pairs: '<pairs>',
    message: '<message>',
    params: '<params>',
    count: '<count>',
    answer: '<answer>',
  },
} as const satisfies { role: Record<Role, string>; type: Record<TaskType, string>; segment: Record<string, string> };

const TAG_LIST: readonly string[] = [
  ...Object.values(TAGS.role),
  ...Object.values(TAGS.type),
  ...Object.values(TAGS.segment),
];

/** The vocabulary: token id ↔ string. Lexeme `LEXEMES[i]` has id `lexemeOffset + i`. */
class Tokenizer {
  readonly vocab: readonly string[] = [PAD, ...TAG_LIST, ...LEXEMES];
  readonly padId = 0;
  readonly lexemeOffset = 1 + TAG_LIST.length;
  /** Id of the end marker that closes each answer segment. */
  readonly endId = this.lexemeOffset + LEXEMES.indexOf(END);
  private readonly ids = new Map(this.vocab.map((t, i) => [t, i] as const));

  constructor() {
    if (this.ids.size !== this.vocab.length) throw new Error('a tag collides with a lexeme');
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  id(token: string): number {
    const id = this.ids.get(token);
    if (id === undefined) throw new RangeError(`${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  encode(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.id(t));
  }

  decode(ids: readonly number[]): string[] {
    return ids.map((i) => {
      const t = this.vocab[i];
      if (t === undefined) throw new RangeError(`token id ${i} is outside the vocabulary of ${this.vocab.length}`);
      return t;
    });
  }

  /** An answer's lexemes split into its segments at each <end> (a trailing unfinished segment is kept). */
  segments(ids: readonly number[]): string[][] {
    const out: string[][] = [];
    let current: string[] = [];
    for (const id of ids) {
      if (id === this.endId) {
        out.push(current);
        current = [];
      } else current.push(this.decode([id])[0] as string);
    }
    if (current.length > 0) out.push(current);
    return out;
  }
}

/** The one vocabulary azr uses. */
export const tokenizer = new Tokenizer();

// -----------------------------------------------------------------------------------------------------------
// Grammar constraints

/** What an answer segment is: a task-language segment, or a solver's reasoning trace (src/azr/lang/traceAutomaton.ts). */
type AnswerSegmentKind = SegmentKind | 'trace';

/** One answer segment: its kind, its context (or how to derive it from the earlier segments), its lexeme budget. */
interface SegmentSpec {
  readonly kind: AnswerSegmentKind;
  readonly context?: SegmentContext | ((earlier: readonly (readonly string[])[]) => SegmentContext);
  /** Most lexemes in this segment, its <end> not counted. */
  readonly budget: number;
  /** A trace that follows this task's program (src/azr/traceScaffold.ts) instead of the free trace grammar. */
  readonly scaffold?: TraceScaffoldTask;
}

/**
 * The task language's constraint automaton as a TokenConstraint over this vocabulary: segment after segment, only
 * the lexemes from which the segment can still be completed within its budget are allowed (exact, from the
 * automaton), and <end> exactly where the segment may end. Done after the last segment's <end>.
 */
export class GrammarConstraint implements TokenConstraint {
  private segment = 0;
  private used = 0;
  private cursor: SegmentCursor;
  private readonly earlier: string[][] = [[]];
  private readonly mask = new Uint8Array(LEXEMES.length);

  constructor(
    private readonly specs: readonly SegmentSpec[],
    private readonly vocab: Tokenizer = tokenizer,
  ) {
    if (specs.length === 0) throw new RangeError('a grammar constraint needs at least one segment');
    this.cursor = this.open(0);
  }

  /** Tokens the whole answer may take at most (lexemes plus one <end> per segment): a safe `maxNewTokens`. */
  get maxTokens(): number {
    return this.specs.reduce((n, s) => n + s.budget + 1, 0);
  }

  private open(i: number): SegmentCursor {
    const spec = this.specs[i] as SegmentSpec;
    const context = typeof spec.context === 'function' ? spec.context(this.earlier.slice(0, i)) : spec.context;
    if (spec.kind === 'trace' && spec.scaffold) return new SegmentCursor(scaffoldStart(spec.scaffold), SCAFFOLD);
    if (spec.kind === 'trace') return new SegmentCursor(traceStart(context?.params ?? []), TRACE);
    const cursor = new SegmentCursor(start(spec.kind, context), LANGUAGE);
    const least = cursor.minToFinish();
    if (least > spec.budget)
      throw new RangeError(`a ${spec.kind} needs at least ${least} lexemes, more than its budget of ${spec.budget}`);
    return cursor;
  }

  allowed(): number[] {
    const spec = this.specs[this.segment];
    if (spec === undefined) throw new Error('allowed() after the constraint is done');
    this.cursor.allowedMask(spec.budget - this.used, this.mask);
    const out: number[] = [];
    for (let i = 0; i < this.mask.length; i++) if (this.mask[i] === 1) out.push(this.vocab.lexemeOffset + i);
    return out;
  }

  advance(token: number): void {
    const lexeme = this.vocab.decode([token])[0] as string;
    if (token < this.vocab.lexemeOffset) throw new RangeError(`${lexeme} is not a lexeme`);
    if (token === this.vocab.endId) {
      if (!this.cursor.complete())
        throw new RangeError(`<end> before the ${this.specs[this.segment]?.kind} is complete`);
      this.segment++;
      this.used = 0;
      if (this.segment < this.specs.length) {
        this.earlier.push([]);
        this.cursor = this.open(this.segment);
      }
      return;
    }
    this.cursor.advance(lexeme);
    this.earlier[this.segment]!.push(lexeme);
    this.used++;
  }

  done(): boolean {
    return this.segment >= this.specs.length;
  }
}

/** A segment grammar's functions over its immutable states (the task language's automaton, the trace's). */
interface SegmentGrammar<S> {
  allowedMask(state: S, budget: number, mask: Uint8Array): number;
  advance(state: S, lexeme: string): S;
  complete(state: S): boolean;
  minToFinish(state: S): number;
}

const LANGUAGE: SegmentGrammar<AutomatonState> = { allowedMask, advance, complete: isComplete, minToFinish };
const TRACE: SegmentGrammar<TraceState> = {
  allowedMask: traceAllowedMask,
  advance: traceAdvance,
  complete: traceComplete,
  minToFinish: traceMinToFinish,
};

const SCAFFOLD: SegmentGrammar<ScaffoldState> = {
  allowedMask: scaffoldAllowedMask,
  advance: scaffoldAdvance,
  complete: scaffoldComplete,
  minToFinish: scaffoldMinToFinish,
};

/** A point inside one segment being decoded: a state and its grammar. */
class SegmentCursor<S = unknown> {
  constructor(
    private state: S,
    private readonly grammar: SegmentGrammar<S>,
  ) {}
  allowedMask(budget: number, mask: Uint8Array): number {
    return this.grammar.allowedMask(this.state, budget, mask);
  }
  advance(lexeme: string): void {
    this.state = this.grammar.advance(this.state, lexeme);
  }
  complete(): boolean {
    return this.grammar.complete(this.state);
  }
  minToFinish(): number {
    return this.grammar.minToFinish(this.state);
  }
}

// -----------------------------------------------------------------------------------------------------------
// Prompts for the six (role × type) views

function lexOrThrow(source: string, kind: SegmentKind, context?: SegmentContext): string[] {
  const r = lex(source, kind, context);
  if (!r.ok) throw new RangeError(`not a task-language ${kind} at ${r.at}: ${r.error} (${source.slice(0, 60)})`);
  return r.lexemes;
}

function programLexemes(program: string): string[] {
  return lexOrThrow(program, 'program');
}

function inputLexemes(program: string, input: string): string[] {
  const params = paramsOfProgram(programLexemes(program));
  if (params === undefined) throw new RangeError(`no parameters in ${program.slice(0, 40)}`);
  return lexOrThrow(input, 'args', { params });
}

function outputLexemes(value: Value): string[] {
  return valueLexemes(value);
}

function tripletTokens(t: Triplet): string[] {
  const s = TAGS.segment;
  return [
    s.program,
    ...programLexemes(t.program),
    s.input,
    ...inputLexemes(t.program, t.input),
    s.output,
    ...outputLexemes(t.output),
  ];
}

/** A prompt and the answer it asks for. */
export interface EncodedPrompt {
  readonly tokens: number[];
  /** The answer's segments, kinds and contexts (budgets are the caller's choice). */
  readonly answer: readonly Omit<SegmentSpec, 'budget'>[];
}

/**
 * The solver's prompt (its answer is two segments: a reasoning trace, empty when it answers directly, then the answer):
 *   deduction `<solve> <deduction> <program> p… <input> i… <answer>`                → value
 *   abduction `<solve> <abduction> <program> p… <output> o… <answer>`               → args for p's parameters
 *   induction `<solve> <induction> <params> header <pairs> (<input> i… <output> o…)* <message> words… <answer>` → program with that header
 */
export function solverPrompt(
  view: SolverView,
  options: {
    /** A deduction trace follows its program, operands written so (src/azr/traceScaffold.ts); default `off`: free. */
    readonly traceScaffold?: TraceScaffold;
  } = {},
): EncodedPrompt {
  const s = TAGS.segment;
  const head = [TAGS.role.solve, TAGS.type[view.type]];
  let body: string[];
  let context: SegmentContext | undefined;
  if (view.type === 'deduction') {
    body = [s.program, ...programLexemes(view.program), s.input, ...inputLexemes(view.program, view.input)];
  } else if (view.type === 'abduction') {
    body = [s.program, ...programLexemes(view.program), s.output, ...outputLexemes(view.output)];
    context = { params: paramsOfProgram(programLexemes(view.program)) ?? [] };
  } else {
    const sig = signatureOf(view.params);
    if (sig === undefined) throw new RangeError(`no signature (${view.params.join(', ')})`);
    body = [s.params, sig.header, s.pairs];
    for (const pair of view.shown)
      body.push(
        s.input,
        ...lexOrThrow(pair.input, 'args', { params: view.params }),
        s.output,
        ...outputLexemes(pair.output),
      );
    body.push(s.message, ...(view.message === '' ? [] : view.message.split(' ')));
    context = { params: view.params };
  }
  const kind = ANSWER_KIND[view.type];
  return {
    tokens: tokenizer.encode([...head, ...body, s.answer]),
    answer: [
      {
        kind: 'trace',
        context: { params: viewParams(view) },
        ...(view.type === 'deduction' && options.traceScaffold !== undefined && options.traceScaffold !== 'off'
          ? { scaffold: { program: view.program, input: view.input, operands: options.traceScaffold } }
          : {}),
      },
      context === undefined ? { kind } : { kind, context },
    ],
  };
}

/**
 * The proposer's prompt:
 *   deduction/abduction `<propose> <type> <references> (<program> p… <input> i… <output> o…)×K <answer>` → program, then args for its parameters
 *   induction `<propose> <induction> <program> p… <count> N <answer>`                                    → N inputs + message
 */
export function proposerPrompt(view: ProposerView): EncodedPrompt {
  const s = TAGS.segment;
  if (view.type === 'induction') {
    const tokens = [
      TAGS.role.propose,
      TAGS.type.induction,
      s.program,
      ...programLexemes(view.program),
      s.count,
      String(view.inputs),
      s.answer,
    ];
    return {
      tokens: tokenizer.encode(tokens),
      answer: [{ kind: 'inputs+message', context: { params: view.params, inputs: view.inputs } }],
    };
  }
  const tokens = [
    TAGS.role.propose,
    TAGS.type[view.type],
    s.references,
    ...view.references.flatMap(tripletTokens),
    s.answer,
  ];
  return {
    tokens: tokenizer.encode(tokens),
    answer: [
      { kind: 'program' },
      {
        kind: 'args',
        context: (earlier) => {
          const params = paramsOfProgram(earlier[0] ?? []);
          if (params === undefined) throw new RangeError('the proposed program has no parameters');
          return { params };
        },
      },
    ],
  };
}

/** A constraint for `prompt`'s answer, with one lexeme budget per segment (or one for all). */
export function answerConstraint(prompt: EncodedPrompt, budget: number | readonly number[]): GrammarConstraint {
  return new GrammarConstraint(
    prompt.answer.map((a, i) => ({ ...a, budget: typeof budget === 'number' ? budget : (budget[i] ?? 0) })),
  );
}

/** A supervised example: the prompt, then each answer segment closed by <end>, with the loss on the answer only. */
export function supervisedExample(
  prompt: EncodedPrompt,
  segments: readonly (readonly string[])[],
): { tokens: number[]; lossMask: number[] } {
  const answer = segments.flatMap((seg) => [...tokenizer.encode(seg), tokenizer.endId]);
  return { tokens: [...prompt.tokens, ...answer], lossMask: [...prompt.tokens.map(() => 0), ...answer.map(() => 1)] };
}
