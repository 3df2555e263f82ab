// executorMachine: the Executor actor — validates proposals and checks answers, one effect call per batch.

import { assign, enqueueActions, fromPromise, setup, type AnyActorRef } from 'xstate';
import {
  argsSource,
  generateArgs,
  programParams,
  Rng,
  valueEquals,
  type RngState,
  type TaskType,
  type Value,
} from '../azr/index.js';
import {
  INFRASTRUCTURE_ERRORS,
  notProvided,
  type CheckRequest,
  type CheckResult,
  type ExecError,
  type RunRequest,
  type RunResult,
  type ValidateRequest,
  type ValidateResult,
} from './effects.js';
import { errorMessage, type BatchFailure } from './protocol.js';

export interface ExecutorInput {
  readonly rngState: RngState;
  readonly retries: number;
}

/** A proposal to validate: one input (deduction, abduction) or N (induction). */
export interface ValidateItem extends ValidateRequest {
  readonly type: TaskType;
}

/** A validation with the input-dependence measure: null when it could not be measured. */
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

export interface ExecutorContext extends ExecutorInput {
  readonly request: ExecutorRequest | null;
  readonly validations: readonly ValidateResult[];
  /** Second inputs for the input-dependence runs, by proposal id. */
  readonly probes: readonly RunRequest[];
  readonly attempt: number;
}

/** A different argument list for the program's parameters, or undefined (no header, or no other input found). */
function otherInput(program: string, input: string, rng: Rng): string | undefined {
  const params = programParams(program);
  if (params === undefined || params.length === 0) return undefined;
  for (let i = 0; i < 8; i++) {
    const other = argsSource(generateArgs(rng, params));
    if (other !== input) return other;
  }
  return undefined;
}

/** The runs that tell whether each valid deduction/abduction program depends on its input. */
function inputProbes(
  items: readonly ValidateItem[],
  results: readonly ValidateResult[],
  rngState: RngState,
  key: string,
): RunRequest[] {
  const rng = new Rng(rngState).split(`inputProbe/${key}`);
  const ok = new Set(results.filter((r) => r.ok).map((r) => r.id));
  const out: RunRequest[] = [];
  for (const item of items) {
    if (item.type === 'induction' || !ok.has(item.id)) continue;
    const input = otherInput(item.program, item.inputs[0]!, rng.split(item.id));
    if (input !== undefined) out.push({ id: item.id, program: item.program, input });
  }
  return out;
}

function validated(
  items: readonly ValidateItem[],
  results: readonly ValidateResult[],
  runs: readonly RunResult[] | null,
): Validated[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const runById = new Map((runs ?? []).map((r) => [r.id, r]));
  return items.map((item) => {
    const r = byId.get(item.id) ?? {
      id: item.id,
      ok: false as const,
      error: { kind: 'crashed', message: 'the executor returned no result' },
    };
    if (!r.ok)
      return { id: item.id, ok: false, error: r.error, infrastructure: INFRASTRUCTURE_ERRORS.includes(r.error.kind) };
    let inputIgnoring: boolean | null = null;
    if (item.type === 'induction') {
      const first = r.outputs[0];
      inputIgnoring = first !== undefined && r.outputs.every((o) => valueEquals(o, first));
    } else if (runs !== null) {
      const run = runById.get(item.id);
      if (run !== undefined && (run.ok || !INFRASTRUCTURE_ERRORS.includes(run.error.kind)))
        inputIgnoring = run.ok && r.outputs[0] !== undefined && valueEquals(run.output, r.outputs[0]);
    }
    return { id: item.id, ok: true, outputs: r.outputs, inputIgnoring };
  });
}

/**
 * The Executor actor. `validate` → one validate call for the whole batch (retried on failure) → one run call
 * with a second generated input per valid deduction/abduction program (does its output depend on the input?
 * induction tells from its N outputs) → one reply. `check` → one check call → one reply.
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
    run: fromPromise<RunResult[], readonly RunRequest[]>(async () => {
      throw notProvided('executorMachine', 'run');
    }),
    check: fromPromise<CheckResult[], readonly CheckRequest[]>(async () => {
      throw notProvided('executorMachine', 'check');
    }),
  },
  guards: {
    canRetry: ({ context }) => context.attempt < context.retries,
    hasProbes: ({ context }) => context.probes.length > 0,
  },
  actions: {
    clear: assign({ request: null, validations: [], probes: [], attempt: 0 }),
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
    replyValidated: enqueueActions(({ context, event, enqueue }, params: { runs: boolean }) => {
      const r = context.request as Extract<ExecutorRequest, { type: 'validate' }>;
      const runs = params.runs && 'output' in event ? (event.output as RunResult[]) : null;
      enqueue.sendTo(r.replyTo, {
        type: 'executor.validated',
        ok: true,
        results: validated(r.items, context.validations, runs),
      } satisfies ExecutorReply);
    }),
  },
}).createMachine({
  id: 'executor',
  context: ({ input }) => ({ ...input, request: null, validations: [], probes: [], attempt: 0 }),
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
          target: 'probingInputs',
          actions: assign(({ context, event }) => {
            const r = context.request as Extract<ExecutorRequest, { type: 'validate' }>;
            return { validations: event.output, probes: inputProbes(r.items, event.output, context.rngState, r.key) };
          }),
        },
        onError: [
          { guard: 'canRetry', target: 'validating', reenter: true, actions: 'retry' },
          { target: 'idle', actions: ['replyFailure', 'clear'] },
        ],
      },
    },
    /** Input dependence is measured, not assumed: a program that returns the same on another input ignores it. */
    probingInputs: {
      always: [
        { guard: 'hasProbes', target: 'runningProbes' },
        { target: 'idle', actions: [{ type: 'replyValidated', params: { runs: false } }, 'clear'] },
      ],
    },
    runningProbes: {
      invoke: {
        src: 'run',
        input: ({ context }) => context.probes,
        // A failed probe run only leaves the measure unknown; the validation stands.
        onDone: { target: 'idle', actions: [{ type: 'replyValidated', params: { runs: true } }, 'clear'] },
        onError: { target: 'idle', actions: [{ type: 'replyValidated', params: { runs: false } }, 'clear'] },
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
