// solverMachine: the Solver actor — answers for solver views, for training or as the n learnability samples.

import { assign, enqueueActions, fromPromise, setup, type AnyActorRef } from 'xstate';
import {
  accepts,
  ANSWER_KIND,
  answerContext,
  END,
  render,
  Rng,
  type RngState,
  type SolverView,
  type TaskType,
  acceptsScaffoldedTrace,
  acceptsTrace,
  traceSteps,
  viewParams,
} from '../azr/index.js';
import { notProvided, type GenerateInput, type PolicyCompletion, type Reasoning, type Slot } from './effects.js';
import { errorMessage, type Answer, type BatchFailure } from './protocol.js';

interface SolverInput {
  readonly rngState: RngState;
  /** Training temperature: used for training answers and for the learnability samples alike (never greedy). */
  readonly temperature: number;
  readonly retries: number;
}

/** One task to answer. */
export interface SolveItem {
  readonly id: string;
  readonly type: TaskType;
  readonly view: SolverView;
}

export type SolverRequest = {
  readonly type: 'solve';
  readonly items: readonly SolveItem[];
  /** Answers per item: 1 for training, n for the learnability estimate. Answer ids: the item's, or `<item>/<j>`. */
  readonly samples: number;
  /** `train`: answers to train on; `learnability`: the n samples that only estimate r̄_solve. */
  readonly purpose: 'train' | 'learnability';
  /** Reserve room on the learner's channel first: the answers will be trained on. */
  readonly reserve: boolean;
  readonly step: number;
  /** Unique per call in the run: random draws derive from it. */
  readonly key: string;
  readonly replyTo: AnyActorRef;
};

export type SolverReply =
  | { readonly type: 'solver.solved'; readonly ok: true; readonly answers: readonly Answer[] }
  | ({ readonly type: 'solver.solved' } & BatchFailure);

interface SolverContext extends SolverInput {
  readonly request: SolverRequest | null;
  readonly slots: readonly Slot[];
  readonly attempt: number;
}

/**
 * Reads a completion — a reasoning trace, then the answer — as an answer of the view's kind; anything else (an
 * unfinished or malformed trace or answer) is a format error (reward −1). Only the answer is graded: the trace is
 * checked for form, never for truth.
 */
export function parseAnswer(view: SolverView, completion: PolicyCompletion): Answer['parsed'] {
  if (!completion.ok) return { ok: false, error: 'policy', message: completion.error };
  if (completion.truncated) return { ok: false, error: 'format', message: 'the completion hit the length cap' };
  const trace = completion.segments[0] ?? [];
  if (completion.segments.length < 2 || !wellFormedTrace(view, trace))
    return { ok: false, error: 'format', message: 'the reasoning trace is not well-formed' };
  const seg = completion.segments[1] ?? [];
  const lexemes = seg[seg.length - 1] === END ? seg.slice(0, -1) : seg;
  const kind = ANSWER_KIND[view.type];
  const context = answerContext(view);
  if (!accepts(kind, lexemes, context))
    return { ok: false, error: 'format', message: `the answer is not a complete ${kind}` };
  return { ok: true, answer: render(lexemes, kind, context) };
}

/**
 * A trace is well-formed under the free trace grammar, or (deduction) when it follows the program as a scaffolded
 * trace does (`policy.traceScaffold`: a left side such as `false + 3`, the written values restated, is the program's
 * next operation though no free left side would take it).
 */
function wellFormedTrace(view: SolverView, trace: readonly string[]): boolean {
  if (acceptsTrace(trace, viewParams(view))) return true;
  return (
    view.type === 'deduction' &&
    (['names', 'reads'] as const).some((operands) =>
      acceptsScaffoldedTrace({ program: view.program, input: view.input, operands }, trace),
    )
  );
}

/** How much a completion reasoned: the lexemes and steps of its trace segment (0 and 0: it answered directly). */
function reasoningOf(trace: readonly string[]): Reasoning {
  return { lexemes: trace.length, steps: traceSteps(trace) };
}

function answerIds(r: SolverRequest): { id: string; item: SolveItem }[] {
  return r.items.flatMap((item) =>
    Array.from({ length: r.samples }, (_, j) => ({ id: r.samples === 1 ? item.id : `${item.id}/${j}`, item })),
  );
}

/**
 * The Solver actor. `solve` → (training) reserves room on the learner's channel → asks the policy for
 * `samples` answers per item at the training temperature (retrying a failed batch) → replies with the parsed
 * answers, in item order, samples of one item together.
 */
export const solverMachine = setup({
  types: {
    context: {} as SolverContext,
    input: {} as SolverInput,
    events: {} as SolverRequest,
  },
  actors: {
    generate: fromPromise<PolicyCompletion[], GenerateInput>(async () => {
      throw notProvided('solverMachine', 'generate');
    }),
    reserve: fromPromise<Slot[], { count: number }>(async () => {
      throw notProvided('solverMachine', 'reserve');
    }),
  },
  guards: {
    trained: ({ event }) => event.reserve,
    canRetry: ({ context }) => context.attempt < context.retries,
  },
  actions: {
    releaseSlots: ({ context }) => context.slots.forEach((s) => s.release()),
    clear: assign({ request: null, slots: [], attempt: 0 }),
    replyFailure: enqueueActions(({ context, event, enqueue }) => {
      const error = 'error' in event ? errorMessage(event.error) : 'failed';
      enqueue.sendTo(context.request!.replyTo, {
        type: 'solver.solved',
        ok: false,
        error: `policy: ${error}`,
        attempts: context.attempt + 1,
      } satisfies SolverReply);
    }),
  },
}).createMachine({
  id: 'solver',
  context: ({ input }) => ({ ...input, request: null, slots: [], attempt: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        solve: [
          { guard: 'trained', target: 'reserving', actions: assign({ request: ({ event }) => event }) },
          { target: 'generating', actions: assign({ request: ({ event }) => event }) },
        ],
      },
    },
    reserving: {
      invoke: {
        src: 'reserve',
        input: ({ context }) => ({ count: context.request!.items.length * context.request!.samples }),
        onDone: { target: 'generating', actions: assign({ slots: ({ event }) => event.output }) },
        onError: { target: 'idle', actions: ['replyFailure', 'clear'] },
      },
    },
    generating: {
      invoke: {
        src: 'generate',
        input: ({ context }) => {
          const r = context.request!;
          return {
            requests: answerIds(r).map(({ id, item }) => ({ id, role: 'solve' as const, view: item.view })),
            temperature: context.temperature,
            purpose: r.purpose,
            rng: new Rng(context.rngState).split(`generate/${r.key}/${context.attempt}`),
            step: r.step,
          };
        },
        onDone: {
          target: 'idle',
          actions: [
            enqueueActions(({ context, event, enqueue }) => {
              const r = context.request!;
              const byId = new Map(event.output.map((c) => [c.id, c]));
              const answers: Answer[] = answerIds(r).map(({ id, item }, k) => {
                const completion = byId.get(id) ?? {
                  id,
                  ok: false as const,
                  error: 'the policy returned no completion for this request',
                };
                const slot = context.slots[k];
                return {
                  id,
                  itemId: item.id,
                  type: item.type,
                  view: item.view,
                  completion: completion.ok
                    ? {
                        tokens: completion.tokens,
                        policyVersion: completion.policyVersion,
                        ...(completion.trace ? { trace: completion.trace } : {}),
                      }
                    : null,
                  ...(slot ? { slot } : {}),
                  parsed: parseAnswer(item.view, completion),
                  ...(completion.ok ? { reasoning: reasoningOf(completion.segments[0] ?? []) } : {}),
                };
              });
              enqueue.sendTo(r.replyTo, { type: 'solver.solved', ok: true, answers } satisfies SolverReply);
            }),
            'clear',
          ],
        },
        onError: [
          {
            guard: 'canRetry',
            target: 'generating',
            reenter: true,
            actions: assign({ attempt: ({ context }) => context.attempt + 1 }),
          },
          { target: 'idle', actions: ['releaseSlots', 'replyFailure', 'clear'] },
        ],
      },
    },
  },
});
