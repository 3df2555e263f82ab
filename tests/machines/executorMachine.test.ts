import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { ExecutorReply } from '../../src/machines/executorMachine.js';
import { collector, executorWithEffects, inProcessExecutor, scriptedExecutor } from '../../src/testing.js';

describe('executorMachine', () => {
  it('validates a whole batch in one effect call and reports whether each valid program ignores its input', async () => {
    // Arrange
    const executor = scriptedExecutor();
    const actor = createActor(executorWithEffects(executor), { input: { retries: 0 } }).start();
    const inbox = collector();

    // Act
    actor.send({
      type: 'validate',
      key: 'k',
      replyTo: inbox.ref,
      items: [
        { id: 'add', type: 'deduction', program: 'function f(n) { return n + 1; }', inputs: ['2'] },
        { id: 'const', type: 'abduction', program: 'function f(n) { return 4; }', inputs: ['2'] },
        { id: 'throws', type: 'deduction', program: 'function f(n) { return n.x.y; }', inputs: ['2'] },
        { id: 'same', type: 'induction', program: 'function f(n) { return 0; }', inputs: ['1', '2', '3', '4'] },
      ],
    });
    const reply =
      await inbox.next<Extract<ExecutorReply, { type: 'executor.validated'; ok: true }>>('executor.validated');

    // Assert
    expect(executor.calls).toEqual({ validate: 1, check: 0 });
    expect(reply.results).toEqual([
      { id: 'add', ok: true, outputs: [3], inputIgnoring: false },
      { id: 'const', ok: true, outputs: [4], inputIgnoring: true },
      { id: 'throws', ok: false, error: expect.objectContaining({ kind: 'runtime' }), infrastructure: false },
      { id: 'same', ok: true, outputs: [0, 0, 0, 0], inputIgnoring: true },
    ]);
  });

  it('flags an executor failure on one item as infrastructure, not as an invalid program', async () => {
    const executor = scriptedExecutor({
      validate: async (rs) =>
        rs.map((r) => ({ id: r.id, ok: false, error: { kind: 'crashed', message: 'worker died' } })),
    });
    const actor = createActor(executorWithEffects(executor), { input: { retries: 0 } }).start();
    const inbox = collector();
    actor.send({
      type: 'validate',
      key: 'k',
      replyTo: inbox.ref,
      items: [{ id: 'x', type: 'deduction', program: 'function f(n) { return n; }', inputs: ['1'] }],
    });
    const reply =
      await inbox.next<Extract<ExecutorReply, { type: 'executor.validated'; ok: true }>>('executor.validated');
    expect(reply.results[0]).toMatchObject({ ok: false, infrastructure: true });
  });

  it('checks answers in one call: abduction accepts any input that gives the output', async () => {
    const executor = scriptedExecutor();
    const actor = createActor(executorWithEffects(executor), { input: { retries: 0 } }).start();
    const inbox = collector();
    actor.send({
      type: 'check',
      key: 'k',
      replyTo: inbox.ref,
      items: [
        { id: 'd', type: 'deduction', gold: 3, answer: '3' },
        { id: 'a', type: 'abduction', program: 'function f(n) { return n % 2; }', gold: 1, answer: '7' },
        {
          id: 'i',
          type: 'induction',
          program: 'function f(n) { return n + 1; }',
          hidden: [
            { input: '1', output: 2 },
            { input: '5', output: 7 },
          ],
        },
      ],
    });
    const reply = await inbox.next<Extract<ExecutorReply, { type: 'executor.checked'; ok: true }>>('executor.checked');
    expect(executor.calls.check).toBe(1);
    expect(reply.results.map((r) => (r.ok ? [r.passed, r.total] : null))).toEqual([
      [1, 1],
      [1, 1],
      [1, 2],
    ]);
  });

  it('retries a failed batch, then replies with a batch failure', async () => {
    let calls = 0;
    const executor = scriptedExecutor({
      check: async (rs) => {
        calls++;
        if (calls < 3) throw new Error('overloaded');
        return inProcessExecutor.check(rs);
      },
    });
    const actor = createActor(executorWithEffects(executor), { input: { retries: 1 } }).start();
    const inbox = collector();
    actor.send({
      type: 'check',
      key: 'k',
      replyTo: inbox.ref,
      items: [{ id: 'd', type: 'deduction', gold: 3, answer: '3' }],
    });
    expect(await inbox.next('executor.checked')).toMatchObject({ ok: false, attempts: 2 });
    actor.send({
      type: 'check',
      key: 'k',
      replyTo: inbox.ref,
      items: [{ id: 'd', type: 'deduction', gold: 3, answer: '3' }],
    });
    expect(await inbox.next('executor.checked')).toMatchObject({ ok: true });
  });
});
