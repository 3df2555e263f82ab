// executorMachine: the Executor actor — validates proposals and checks answers, one effect call per batch.

import { assign, enqueueActions, fromPromise, setup, type AnyActorRef } from 'xstate';
import type { TaskType, Value } from '../azr/index.js';
import {
  INFRASTRUCTURE_ERRORS,
  notProvided,
  type CheckRequest,
  type CheckResult,
  type ExecError,
  type ValidateRequest,
  type ValidateResult,
} from './effects.js';
import { errorMessage, type BatchFailure } from './protocol.js';

interface ExecutorInput {
  readonly retries: number;
}

/** A proposal to validate: one input (deduction, abduction) or N (induction). */
export interface ValidateItem extends ValidateRequest {
  readonly type: TaskType;
}

/**
 * A validation with the executor's input-dependence verdict (src/azr/inputDependence.ts; null when it could not be
 * told), or why the proposal is invalid and whether that is the executor's fault rather than the program's.
 */
export type Validated =
  | {
      readonly id: string;
      readonly ok: true;
      readonly outputs: readonly Value[];
      readonly inputIgnoring: boolean | null;
    }
  | { readonly id: string; readonly ok: false; readonly error: ExecError; readonly infrastructure: boolean };

export type ExecutorRequest =
  | {
      readonly type: 'validate';
      readonly items: readonly ValidateItem[];
      readonly key: string;
      readonly replyTo: AnyActorRef;
    }
  | {
      readonly type: 'check';
      readonly items: readonly CheckRequest[];
      readonly key: string;
      readonly replyTo: AnyActorRef;
    };

export type ExecutorReply =
  | { readonly type: 'executor.validated'; readonly ok: true; readonly results: readonly Validated[] }
  | ({ readonly type: 'executor.validated' } & BatchFailure)
  | { readonly type: 'executor.checked'; readonly ok: true; readonly results: readonly CheckResult[] }
  | ({ readonly type: 'executor.checked' } & BatchFailure);

interface ExecutorContext extends ExecutorInput {
  readonly request: ExecutorRequest | null;
  readonly attempt: number;
}

/** Each item's result, in item order; a missing one is the executor's failure. */
function validated(items: readonly ValidateItem[], results: readonly ValidateResult[]): Validated[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return items.map((item) => {
    const r = byId.get(item.id) ?? {
      id: item.id,
      ok: false as const,
      error: { kind: 'crashed', message: 'the executor returned no result' },
    };
    if (!r.ok)
      return { id: item.id, ok: false, error: r.error, infrastructure: INFRASTRUCTURE_ERRORS.includes(r.error.kind) };
    return { id: item.id, ok: true, outputs: r.outputs, inputIgnoring: r.inputIgnoring };
  });
}

/**
 * The Executor actor. `validate` → one validate call for the whole batch (retried on failure; its results say
 * whether each valid program ignores its input) → one reply. `check` → one check call → one reply.
 */
export const executorMachine = setup({
  types: {
    context: {} as ExecutorContext,
    input: {} as ExecutorInput,
    events: {} as ExecutorRequest,
  },
  actors: {
    validate: fromPromise<ValidateResult[], readonly ValidateRequest[]>(async () => {
      throw notProvided('executorMachine', 'validate');
    }),
    check: fromPromise<CheckResult[], readonly CheckRequest[]>(async () => {
      throw notProvided('executorMachine', 'check');
    }),
  },
  guards: {
    canRetry: ({ context }) => context.attempt < context.retries,
  },
  actions: {
    clear: assign({ request: null, attempt: 0 }),
    retry: assign({ attempt: ({ context }) => context.attempt + 1 }),
    replyFailure: enqueueActions(({ context, event, enqueue }) => {
      const r = context.request!;
      const error = 'error' in event ? errorMessage(event.error) : 'failed';
      enqueue.sendTo(r.replyTo, {
        type: r.type === 'validate' ? 'executor.validated' : 'executor.checked',
        ok: false,
        error: `executor: ${error}`,
        attempts: context.attempt + 1,
      } satisfies ExecutorReply);
    }),
  },
}).createMachine({
  id: 'executor',
  context: ({ input }) => ({ ...input, request: null, attempt: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        validate: { target: 'validating', actions: assign({ request: ({ event }) => event }) },
        check: { target: 'checking', actions: assign({ request: ({ event }) => event }) },
      },
    },
    validating: {
      invoke: {
        src: 'validate',
        input: ({ context }) =>
          (context.request as Extract<ExecutorRequest, { type: 'validate' }>).items.map(({ id, program, inputs }) => ({
            id,
            program,
            inputs,
          })),
        onDone: {
          target: 'idle',
          actions: [
            enqueueActions(({ context, event, enqueue }) => {
              const r = context.request as Extract<ExecutorRequest, { type: 'validate' }>;
              enqueue.sendTo(r.replyTo, {
                type: 'executor.validated',
                ok: true,
                results: validated(r.items, event.output),
              } satisfies ExecutorReply);
            }),
            'clear',
          ],
        },
        onError: [
          { guard: 'canRetry', target: 'validating', reenter: true, actions: 'retry' },
          { target: 'idle', actions: ['replyFailure', 'clear'] },
        ],
      },
    },
    checking: {
      invoke: {
        src: 'check',
        input: ({ context }) => (context.request as Extract<ExecutorRequest, { type: 'check' }>).items,
        onDone: {
          target: 'idle',
          actions: [
            enqueueActions(({ context, event, enqueue }) => {
              enqueue.sendTo(context.request!.replyTo, {
                type: 'executor.checked',
                ok: true,
                results: event.output,
              } satisfies ExecutorReply);
            }),
            'clear',
          ],
        },
        onError: [
          { guard: 'canRetry', target: 'checking', reenter: true, actions: 'retry' },
          { target: 'idle', actions: ['replyFailure', 'clear'] },
        ],
      },
    },
  },
});
