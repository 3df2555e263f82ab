// bufferMachine: the Buffer actor — the three task buffers: proposer references, solver draws, appends, snapshots.

import { enqueueActions, setup, type AnyActorRef } from 'xstate';
import type { CoordinatorConfig } from './config.js';
import {
  proposerView,
  Rng,
  seedBuffers,
  taskKey,
  TaskBuffer,
  type AddResult,
  type BufferOptions,
  type BufferSnapshot,
  type InductionTask,
  type ProposerView,
  type RngState,
  type Task,
  type TaskType,
  type Triplet,
} from '../azr/index.js';

export type BufferSizes = Readonly<Record<TaskType, number>>;

export interface Buffers {
  readonly deduction: TaskBuffer<Triplet>;
  readonly abduction: TaskBuffer<Triplet>;
  readonly induction: TaskBuffer<InductionTask>;
}

export interface BufferSnapshots {
  readonly deduction: BufferSnapshot<Triplet>;
  readonly abduction: BufferSnapshot<Triplet>;
  readonly induction: BufferSnapshot<InductionTask>;
}

/** A drawn solver task: the buffer entry's id and task. */
export interface DrawnTask<T extends Task = Task> {
  readonly entryId: number;
  readonly task: T;
}

/**
 * The buffer actor's start: its PRNG split, the buffers' options, and the coordinator's config fields it draws by
 * (inductionInputs: induction seed inputs N; references K; buffer.referenceWeighting, mix, recentWindow — declared
 * and documented in ./config.ts).
 */
export type BufferInput = Pick<CoordinatorConfig, 'inductionInputs' | 'references'> &
  Pick<CoordinatorConfig['buffer'], 'referenceWeighting' | 'mix' | 'recentWindow'> & {
    /** This actor's split of the run's stream; every draw derives a child from it by a request key. */
    readonly rngState: RngState;
    readonly options: BufferOptions;
    /** Restore these buffers instead of seeding from the identity program. */
    readonly restore?: BufferSnapshots;
  };

export type BufferRequest =
  /** Proposer prompts: `count` views of `taskType` (K references, or one induction program). */
  | {
      readonly type: 'views';
      readonly taskType: TaskType;
      readonly count: number;
      readonly key: string;
      readonly replyTo: AnyActorRef;
    }
  /** A step's solver tasks, drawn at its start (paper §5.4): `counts` per type. */
  | {
      readonly type: 'drawSolverTasks';
      readonly step: number;
      readonly counts: Partial<Record<TaskType, number>>;
      readonly key: string;
      readonly replyTo: AnyActorRef;
    }
  /**
   * Append valid tasks made at `step` to each listed buffer (seeding puts triplets into both deduction and
   * abduction, as the paper). `dedup` skips tasks already held (seeding), whatever the buffer option.
   */
  | {
      readonly type: 'append';
      readonly entries: readonly { readonly taskType: TaskType; readonly tasks: readonly Task[] }[];
      readonly step: number;
      readonly dedup?: boolean;
      readonly replyTo?: AnyActorRef;
    }
  | { readonly type: 'snapshot'; readonly replyTo: AnyActorRef };

export type BufferReply =
  | { readonly type: 'buffer.views'; readonly taskType: TaskType; readonly views: readonly ProposerView[] }
  | {
      readonly type: 'buffer.solverTasks';
      readonly step: number;
      readonly tasks: Readonly<Partial<Record<TaskType, readonly DrawnTask[]>>>;
    }
  | {
      readonly type: 'buffer.appended';
      readonly results: readonly (AddResult & { readonly taskType: TaskType })[];
      readonly sizes: BufferSizes;
    }
  | { readonly type: 'buffer.snapshot'; readonly buffers: BufferSnapshots; readonly sizes: BufferSizes };

interface BufferContext extends Omit<BufferInput, 'restore'> {
  /**
   * The buffers themselves. TaskBuffer is src/azr's mutable structure; the actions below mutate it in place
   * (copying 16k entries per append would cost more than it protects). Checkpoints use `snapshot`, not the
   * actor's persisted snapshot.
   */
  readonly buffers: Buffers;
}

function bufferSizes(b: Buffers): BufferSizes {
  return { deduction: b.deduction.size, abduction: b.abduction.size, induction: b.induction.size };
}

function snapshots(b: Buffers): BufferSnapshots {
  return { deduction: b.deduction.snapshot(), abduction: b.abduction.snapshot(), induction: b.induction.snapshot() };
}

function initialBuffers(input: BufferInput): Buffers {
  if (input.restore)
    return {
      deduction: TaskBuffer.restore(input.restore.deduction),
      abduction: TaskBuffer.restore(input.restore.abduction),
      induction: TaskBuffer.restore(input.restore.induction),
    };
  return seedBuffers({ inputs: input.inductionInputs, buffer: input.options });
}

/**
 * The Buffer actor. One state: it answers every request at once (all of its work is src/azr's pure, synchronous
 * buffer code). Starts from the identity seeds (or a checkpoint's buffers).
 */
export const bufferMachine = setup({
  types: {
    context: {} as BufferContext,
    input: {} as BufferInput,
    events: {} as BufferRequest,
  },
}).createMachine({
  id: 'buffer',
  context: ({ input }) => {
    const { restore: _restore, ...rest } = input;
    return { ...rest, buffers: initialBuffers(input) };
  },
  initial: 'ready',
  states: {
    ready: {
      on: {
        views: {
          actions: enqueueActions(({ context: c, event: e, enqueue }) => {
            const rng = new Rng(c.rngState).split(`views/${e.key}`);
            const views: ProposerView[] = [];
            for (let i = 0; i < e.count; i++)
              views.push(
                proposerView(e.taskType, c.buffers, rng, {
                  k: c.references,
                  weighting: c.referenceWeighting,
                  inputs: c.inductionInputs,
                }),
              );
            enqueue.sendTo(e.replyTo, { type: 'buffer.views', taskType: e.taskType, views } satisfies BufferReply);
          }),
        },
        drawSolverTasks: {
          actions: enqueueActions(({ context: c, event: e, enqueue }) => {
            const root = new Rng(c.rngState).split(`solverTasks/${e.key}`);
            const tasks: Partial<Record<TaskType, DrawnTask[]>> = {};
            for (const [type, count] of Object.entries(e.counts) as [TaskType, number][]) {
              const drawn = (c.buffers[type] as TaskBuffer).drawSolverTasks(count, root.split(type), {
                step: e.step,
                mix: c.mix,
                recentWindow: c.recentWindow,
              });
              tasks[type] = drawn.map((entry) => ({ entryId: entry.id, task: entry.task }));
            }
            enqueue.sendTo(e.replyTo, { type: 'buffer.solverTasks', step: e.step, tasks } satisfies BufferReply);
          }),
        },
        append: {
          // Mutates the buffers in place (see BufferContext), then replies with what happened.
          actions: enqueueActions(({ context: c, event: e, enqueue }) => {
            const results = e.entries.map(({ taskType, tasks }) => {
              const buffer = c.buffers[taskType] as TaskBuffer;
              let kept = tasks;
              if (e.dedup && !buffer.options.dedup) {
                const seen = new Set(buffer.entries().map((x) => taskKey(x.task)));
                kept = tasks.filter((t) => {
                  const k = taskKey(t);
                  if (seen.has(k)) return false;
                  seen.add(k);
                  return true;
                });
              }
              const r = buffer.add(kept, e.step);
              return { taskType, ...r, duplicates: r.duplicates + tasks.length - kept.length };
            });
            if (e.replyTo)
              enqueue.sendTo(e.replyTo, {
                type: 'buffer.appended',
                results,
                sizes: bufferSizes(c.buffers),
              } satisfies BufferReply);
          }),
        },
        snapshot: {
          actions: enqueueActions(({ context: c, event: e, enqueue }) => {
            enqueue.sendTo(e.replyTo, {
              type: 'buffer.snapshot',
              buffers: snapshots(c.buffers),
              sizes: bufferSizes(c.buffers),
            } satisfies BufferReply);
          }),
        },
      },
    },
  },
});
