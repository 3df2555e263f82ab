import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { valueSource, type Triplet } from '../../src/azr/index.js';
import { bufferMachine, type BufferInput, type BufferReply } from '../../src/machines/bufferMachine.js';
import { Rng } from '../../src/azr/index.js';
import { collector } from '../../src/testing.js';

const input: BufferInput = {
  rngState: new Rng('buffer').state(),
  options: { cap: 100 },
  inductionInputs: 4,
  references: 2,
  referenceWeighting: 'uniform',
  mix: 'maxNew',
  recentWindow: 1,
};

const triplet = (k: number): Triplet => ({ program: `function f(n) { return n + ${k}; }`, input: '1', output: 1 + k });

function start(extra: Partial<BufferInput> = {}) {
  const actor = createActor(bufferMachine, { input: { ...input, ...extra } }).start();
  const inbox = collector();
  return { actor, inbox };
}

describe('bufferMachine', () => {
  it('starts from the identity seeds: one task in each buffer', async () => {
    const { actor, inbox } = start();
    actor.send({ type: 'snapshot', replyTo: inbox.ref });
    const reply = await inbox.next<Extract<BufferReply, { type: 'buffer.snapshot' }>>('buffer.snapshot');
    expect(reply.sizes).toEqual({ deduction: 1, abduction: 1, induction: 1 });
    expect(reply.buffers.deduction.entries[0]!.task).toEqual({
      program: 'function f(a) { return a; }',
      input: valueSource('abc'),
      output: 'abc',
    });
  });

  it('builds proposer views with K distinct references from the type’s buffer, reproducibly per key', async () => {
    const { actor, inbox } = start();
    actor.send({
      type: 'append',
      entries: [{ taskType: 'deduction', tasks: [triplet(1), triplet(2), triplet(3)] }],
      step: 1,
    });
    actor.send({ type: 'views', taskType: 'deduction', count: 3, key: 'k1', replyTo: inbox.ref });
    actor.send({ type: 'views', taskType: 'deduction', count: 3, key: 'k1', replyTo: inbox.ref });
    const a = await inbox.next<Extract<BufferReply, { type: 'buffer.views' }>>('buffer.views');
    const b = await inbox.next<Extract<BufferReply, { type: 'buffer.views' }>>('buffer.views');
    expect(a.views).toHaveLength(3);
    for (const v of a.views) {
      if (v.type === 'induction') throw new Error('expected a deduction view');
      expect(v.references).toHaveLength(2);
      expect(new Set(v.references.map((r) => r.program)).size).toBe(2);
    }
    expect(b.views).toEqual(a.views);
  });

  it('draws solver tasks newest first (maxNew): the previous step’s additions before older ones', async () => {
    const { actor, inbox } = start();
    actor.send({ type: 'append', entries: [{ taskType: 'deduction', tasks: [triplet(1), triplet(2)] }], step: 1 });
    actor.send({ type: 'append', entries: [{ taskType: 'deduction', tasks: [triplet(3)] }], step: 4 });
    actor.send({ type: 'drawSolverTasks', step: 5, counts: { deduction: 2 }, key: '5', replyTo: inbox.ref });
    const reply = await inbox.next<Extract<BufferReply, { type: 'buffer.solverTasks' }>>('buffer.solverTasks');
    expect(reply.tasks.deduction).toHaveLength(2);
    expect(reply.tasks.deduction![0]!.task).toEqual(triplet(3));
  });

  it('skips duplicates when an append asks for dedup (seeding), and appends to several buffers at once', async () => {
    const { actor, inbox } = start();
    actor.send({
      type: 'append',
      entries: [
        { taskType: 'deduction', tasks: [triplet(1), triplet(1), triplet(2)] },
        { taskType: 'abduction', tasks: [triplet(1), triplet(1), triplet(2)] },
      ],
      step: 0,
      dedup: true,
      replyTo: inbox.ref,
    });
    const reply = await inbox.next<Extract<BufferReply, { type: 'buffer.appended' }>>('buffer.appended');
    expect(reply.results.map((r) => [r.taskType, r.added, r.duplicates])).toEqual([
      ['deduction', 2, 1],
      ['abduction', 2, 1],
    ]);
    expect(reply.sizes).toEqual({ deduction: 3, abduction: 3, induction: 1 });
  });

  it('restores exactly what it snapshotted', async () => {
    const { actor, inbox } = start();
    actor.send({ type: 'append', entries: [{ taskType: 'abduction', tasks: [triplet(5)] }], step: 2 });
    actor.send({ type: 'snapshot', replyTo: inbox.ref });
    const saved = await inbox.next<Extract<BufferReply, { type: 'buffer.snapshot' }>>('buffer.snapshot');
    const restored = start({ restore: saved.buffers });
    restored.actor.send({ type: 'snapshot', replyTo: restored.inbox.ref });
    const again = await restored.inbox.next<Extract<BufferReply, { type: 'buffer.snapshot' }>>('buffer.snapshot');
    expect(again.buffers).toEqual(saved.buffers);
  });
});
