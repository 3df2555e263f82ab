// proposerMachine: the Proposer actor — prompts from the Buffer's references, completions from the policy, proposals.

import { assign, enqueueActions, fromPromise, setup, type AnyActorRef } from 'xstate';
import {
  accepts,
  END,
  joinLexemes,
  paramsOfProgram,
  readInductionProposal,
  render,
  Rng,
  type ProposerView,
  type RngState,
  type TaskType,
} from '../azr/index.js';
import { notProvided, type GenerateInput, type PolicyCompletion, type Slot } from './effects.js';
import { errorMessage, type BatchFailure, type Proposal } from './protocol.js';
import type { BufferReply, BufferRequest } from './bufferMachine.js';

interface ProposerInput {
  readonly rngState: RngState;
  /** Training temperature (config.temperature). */
  readonly temperature: number;
  /** Retries of a failed policy call before the batch is given up. */
  readonly retries: number;
  /** The Buffer actor; default: the system's `buffer`. */
  readonly buffer?: AnyActorRef;
}

export type ProposerRequest = {
  readonly type: 'propose';
  readonly taskType: TaskType;
  readonly count: number;
  readonly step: number;
  /** `train`: a training step's proposals; `seed`: seeding. */
  readonly purpose: 'train' | 'seed';
  /** Reserve room on the learner's channel first: the completions will be trained on. */
  readonly reserve: boolean;
  /** Unique per call in the run: the rollout ids and random draws derive from it. */
  readonly key: string;
  readonly replyTo: AnyActorRef;
};

export type ProposerReply =
  | {
      readonly type: 'proposer.proposed';
      readonly ok: true;
      readonly taskType: TaskType;
      readonly proposals: readonly Proposal[];
    }
  | ({ readonly type: 'proposer.proposed'; readonly taskType: TaskType } & BatchFailure);

type ProposerEvent = ProposerRequest | Extract<BufferReply, { type: 'buffer.views' }>;

interface ProposerContext extends ProposerInput {
  readonly request: ProposerRequest | null;
  readonly views: readonly ProposerView[];
  readonly slots: readonly Slot[];
  readonly attempt: number;
}

function strip(lexemes: readonly string[]): readonly string[] {
  return lexemes[lexemes.length - 1] === END ? lexemes.slice(0, -1) : lexemes;
}

/**
 * Reads a completion as a proposal of `view`'s type. Deduction/abduction: a program segment, then an argument
 * list for its parameters. Induction: N argument lists for the given program's parameters and a message.
 */
export function parseProposal(view: ProposerView, completion: PolicyCompletion): Proposal['parsed'] {
  if (!completion.ok) return { ok: false, error: 'policy', message: completion.error, program: '', inputs: [] };
  const segs = completion.segments.map(strip);
  if (view.type === 'induction') {
    const lexemes = segs[0] ?? [];
    try {
      if (completion.truncated) throw new Error('the completion hit the length cap');
      const r = readInductionProposal(lexemes, view.params, view.inputs);
      return { ok: true, program: view.program, inputs: r.inputs, message: r.message };
    } catch (e) {
      return {
        ok: false,
        error: 'format',
        message: errorMessage(e),
        program: view.program,
        inputs: [joinLexemes(lexemes)],
      };
    }
  }
  const program = segs[0] ?? [];
  const args = segs[1] ?? [];
  const fail = (message: string): Proposal['parsed'] => ({
    ok: false,
    error: 'format',
    message,
    program: joinLexemes(program),
    inputs: [joinLexemes(args)],
  });
  if (completion.truncated) return fail('the completion hit the length cap');
  if (!accepts('program', program)) return fail('the program segment is not a complete task-language program');
  const params = paramsOfProgram(program);
  if (params === undefined) return fail('the program has no known signature');
  if (!accepts('args', args, { params })) return fail(`the input is not an argument list for (${params.join(', ')})`);
  return { ok: true, program: render(program, 'program'), inputs: [render(args, 'args', { params })] };
}

/**
 * The Proposer actor. `propose` → asks the Buffer for `count` proposer views → (training) reserves room for
 * `count` rollouts on the learner's channel → asks the policy for completions at the training temperature
 * (retrying a failed batch) → replies with the parsed proposals. One request at a time; a request that arrives
 * while busy is not accepted (the coordinator never sends one).
 */
export const proposerMachine = setup({
  types: {
    context: {} as ProposerContext,
    input: {} as ProposerInput,
    events: {} as ProposerEvent,
  },
  actors: {
    /** The policy: completions for proposer views. */
    generate: fromPromise<PolicyCompletion[], GenerateInput>(async () => {
      throw notProvided('proposerMachine', 'generate');
    }),
    /** Room for `count` rollouts on the learner's channel; resolves when the learner's credit allows. */
    reserve: fromPromise<Slot[], { count: number }>(async () => {
      throw notProvided('proposerMachine', 'reserve');
    }),
  },
  guards: {
    trained: ({ context }) => context.request?.reserve === true,
    canRetry: ({ context }) => context.attempt < context.retries,
  },
  actions: {
    releaseSlots: ({ context }) => context.slots.forEach((s) => s.release()),
    clear: assign({ request: null, views: [], slots: [], attempt: 0 }),
    replyFailure: enqueueActions(({ context, event, enqueue }) => {
      const r = context.request!;
      const error = 'error' in event ? errorMessage(event.error) : 'failed';
      enqueue.sendTo(r.replyTo, {
        type: 'proposer.proposed',
        taskType: r.taskType,
        ok: false,
        error: `policy: ${error}`,
        attempts: context.attempt + 1,
      } satisfies ProposerReply);
    }),
  },
}).createMachine({
  id: 'proposer',
  context: ({ input }) => ({ ...input, request: null, views: [], slots: [], attempt: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        propose: { target: 'fetchingViews', actions: assign({ request: ({ event }) => event }) },
      },
    },
    /** Prompts are built from K references (or one program, induction) sampled from the Buffer. */
    fetchingViews: {
      entry: enqueueActions(({ context, self, system, enqueue }) => {
        const r = context.request!;
        const request: BufferRequest = {
          type: 'views',
          taskType: r.taskType,
          count: r.count,
          key: r.key,
          replyTo: self,
        };
        enqueue.sendTo((context.buffer ?? system.get('buffer')) as AnyActorRef, request);
      }),
      on: {
        'buffer.views': [
          { guard: 'trained', target: 'reserving', actions: assign({ views: ({ event }) => event.views }) },
          { target: 'generating', actions: assign({ views: ({ event }) => event.views }) },
        ],
      },
    },
    /** Backpressure: no completion is produced before the learner has room for it. */
    reserving: {
      invoke: {
        src: 'reserve',
        input: ({ context }) => ({ count: context.views.length }),
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
            requests: context.views.map((view, i) => ({ id: `${r.key}/${i}`, role: 'propose' as const, view })),
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
              const proposals: Proposal[] = context.views.map((view, i) => {
                const id = `${r.key}/${i}`;
                const completion = byId.get(id) ?? {
                  id,
                  ok: false as const,
                  error: 'the policy returned no completion for this request',
                };
                const slot = context.slots[i];
                return {
                  id,
                  type: r.taskType,
                  view,
                  completion: completion.ok
                    ? {
                        tokens: completion.tokens,
                        policyVersion: completion.policyVersion,
                        ...(completion.trace ? { trace: completion.trace } : {}),
                      }
                    : null,
                  ...(slot ? { slot } : {}),
                  parsed: parseProposal(view, completion),
                };
              });
              enqueue.sendTo(r.replyTo, {
                type: 'proposer.proposed',
                ok: true,
                taskType: r.taskType,
                proposals,
              } satisfies ProposerReply);
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
