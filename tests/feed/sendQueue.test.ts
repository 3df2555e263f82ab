// The per-client send queue with a fake socket: byte bound, skipping into gaps, coalescing, milestones, stall.
import { describe, expect, it } from 'vitest';
import { SendQueue, SendQueueStalledError, toFeedEvent } from '../../src/feed/sendQueue.js';
import type { FeedEvent, SendQueueOptions } from '../../src/feed/sendQueue.js';
import { eventBody } from '../../src/streams/events.js';
import type { RunEvent, RunEventBody } from '../../src/streams/events.js';

/** A socket that holds what it is sent until `drain()`. */
class FakeSocket {
  bufferedAmount = 0;
  readonly sent: string[] = [];
  private callbacks: (() => void)[] = [];
  send(data: Buffer, done: () => void): void {
    this.bufferedAmount += data.length;
    this.sent.push(data.toString('utf8'));
    this.callbacks.push(done);
  }
  /** The peer reads everything written so far. */
  drain(): void {
    this.bufferedAmount = 0;
    for (const cb of this.callbacks.splice(0)) cb();
  }
  messages(): { op: string; [k: string]: unknown }[] {
    return this.sent.map((s) => JSON.parse(s) as { op: string });
  }
}

function event(seq: number, body: RunEventBody): FeedEvent {
  return toFeedEvent({ v: 1, runId: 'r', seq, t: seq, step: 1, ...body } as RunEvent);
}

const scored = (seq: number) =>
  event(
    seq,
    eventBody('rollout.scored', {
      role: 'solve',
      task: 'deduction',
      id: `s${seq}`,
      reward: 1,
      advantage: 0,
      policyVersion: 0,
      tokens: 3,
    }),
  );
const depth = (seq: number, queue: string, d: number) =>
  event(seq, eventBody('queue.depth', { queue, depth: d, capacity: 8, credit: null, stallMs: 0 }));
const learner = (seq: number) =>
  event(seq, eventBody('learner.step', { loss: 1, gradNorm: 1, entropy: 1, policyVersion: 1, tokensPerSecond: 1 }));

function queue(socket: FakeSocket, overrides: Partial<SendQueueOptions> = {}) {
  const stalls: string[] = [];
  const timers: (() => void)[] = [];
  const q = new SendQueue(socket, {
    maxBytes: 1000,
    lowWaterBytes: 250,
    socketHighWaterBytes: 400,
    hardMaxBytes: 2000,
    maxKeptEvents: 8,
    maxBatchEvents: 100,
    maxBatchBytes: 100_000,
    stallTimeoutMs: 1000,
    onStall: (why) => stalls.push(why),
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => timers.splice(0),
    ...overrides,
  });
  return { q, stalls, fireTimers: () => timers.splice(0).forEach((fn) => fn()) };
}

describe('SendQueue', () => {
  it('passes messages through in order while under the bound', () => {
    const socket = new FakeSocket();
    const { q } = queue(socket);
    q.offerControl('{"op":"hello"}');
    q.offerEvents([scored(0), scored(1)]);
    expect(socket.messages().map((m) => m.op)).toEqual(['hello', 'events']);
    expect((socket.messages()[1]!['events'] as RunEvent[]).map((e) => e.seq)).toEqual([0, 1]);
    expect(q.skipping).toBe(false);
  });

  it('over the bound skips rollouts into one gap, keeps the latest state per key and the milestones, in seq order', () => {
    // Arrange: the peer reads nothing, so the socket and then the queue fill up.
    const socket = new FakeSocket();
    const { q } = queue(socket);
    let seq = 0;
    while (!q.skipping) q.offerEvents([scored(seq++)]);
    const firstSkipped = seq - 1;
    // Act
    q.offerEvents([
      scored(seq),
      depth(seq + 1, 'a', 1),
      scored(seq + 2),
      learner(seq + 3),
      depth(seq + 4, 'a', 2),
      depth(seq + 5, 'b', 7),
      scored(seq + 6),
    ]);
    socket.drain();
    socket.drain();
    socket.drain();
    // Assert: after the events queued before the bound was hit, the skipped part arrives as gaps and kept events.
    const all = socket.messages();
    const released = all.slice(all.findIndex((m) => m.op === 'gap'));
    const pieces = released.map((m) =>
      m.op === 'gap'
        ? `gap ${m['fromSeq']}-${m['toSeq']}`
        : (m['events'] as RunEvent[]).map((e) => `${e.type}@${e.seq}`).join(' '),
    );
    expect(pieces).toEqual([
      `gap ${firstSkipped}-${seq + 2}`, // rollouts dropped, and queue a's depth at seq+1 replaced by the later one
      `learner.step@${seq + 3} queue.depth@${seq + 4} queue.depth@${seq + 5}`,
      `gap ${seq + 6}-${seq + 6}`,
    ]);
    expect(q.skipping).toBe(false);
    expect(q.stats.eventsCoalesced).toBe(1);
  });

  it('bounds the milestones kept while skipping; the oldest become part of a gap', () => {
    const socket = new FakeSocket();
    const { q } = queue(socket, { maxKeptEvents: 2 });
    let seq = 0;
    while (!q.skipping) q.offerEvents([scored(seq++)]);
    const from = seq - 1;
    q.offerEvents([learner(seq), learner(seq + 1), learner(seq + 2)]);
    socket.drain();
    socket.drain();
    socket.drain();
    const all = socket.messages();
    const released = all.slice(all.findIndex((m) => m.op === 'gap'));
    expect(released[0]).toMatchObject({ op: 'gap', fromSeq: from, toSeq: seq });
    expect((released[1]!['events'] as RunEvent[]).map((e) => e.seq)).toEqual([seq + 1, seq + 2]);
  });

  it('never drops control messages, even while skipping', () => {
    const socket = new FakeSocket();
    const { q } = queue(socket);
    let seq = 0;
    while (!q.skipping) q.offerEvents([scored(seq++)]);
    q.offerControl('{"op":"error","message":"x"}');
    socket.drain();
    socket.drain();
    socket.drain();
    expect(socket.messages().filter((m) => m.op === 'error')).toHaveLength(1);
  });

  it('reports a stall when the bound is exceeded for the stall timeout, and when control messages pass the hard bound', () => {
    const socket = new FakeSocket();
    const { q, stalls, fireTimers } = queue(socket);
    let seq = 0;
    while (!q.skipping) q.offerEvents([scored(seq++)]);
    fireTimers();
    expect(stalls).toEqual(['send queue over 1000 bytes for 1000 ms']);

    const socket2 = new FakeSocket();
    const second = queue(socket2);
    for (let i = 0; i < 100 && second.stalls.length === 0; i++)
      second.q.offerControl(`{"op":"error","message":"${'x'.repeat(50)}"}`);
    expect(second.stalls).toEqual(['send queue passed 2000 bytes']);
  });

  it('whenBelow waits for the peer to read, and rejects when it does not in time', async () => {
    const socket = new FakeSocket();
    const { q, fireTimers } = queue(socket);
    q.offerEvents([scored(0), scored(1), scored(2)]);
    let resolved = false;
    const waiting = q.whenBelow(0).then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    socket.drain();
    await waiting;
    expect(resolved).toBe(true);

    q.offerEvents([scored(3)]);
    const failing = q.whenBelow(0);
    fireTimers();
    await expect(failing).rejects.toThrow(SendQueueStalledError);
  });
});
