// One client's send queue: bounded by bytes; over the bound it skips events into announced gaps, never control messages.
import type { RunEvent, RunEventType } from '../streams/events.js';

/**
 * What happens to an event while its client is over the send limit:
 * - `drop`: high-rate events (one per rollout or proposal) are skipped and their seqs announced in a `gap`;
 * - `coalesce`: state snapshots (queue depth per queue, actor state per actor, buffer sizes, executor stats, errors
 *   per source and kind, the base-model build's progress) keep only the latest of each key;
 * - `keep`: run and step milestones (run.started/finished, learner.step, health, probe, checkpoint, step.finished)
 *   are kept, up to `maxKeptEvents` (the oldest beyond that become a gap too).
 */
type DeliveryPolicy = 'drop' | 'coalesce' | 'keep';

/** One run event as the feed holds it: serialized once (exactly as in events.jsonl) and shared by every client. */
export interface FeedEvent {
  readonly event: RunEvent;
  readonly seq: number;
  readonly type: RunEventType;
  /** `JSON.stringify(event)`: the events.jsonl line without its newline. */
  readonly json: string;
  /** UTF-8 length of `json`. */
  readonly bytes: number;
  readonly policy: DeliveryPolicy;
  /** For `coalesce`: events with the same key replace each other. */
  readonly key: string | null;
}

const DROPPED: ReadonlySet<RunEventType> = new Set<RunEventType>([
  'rollout.scored',
  'proposal.validated',
  'rollout.dropped',
]);

function coalesceKey(event: RunEvent): string | null {
  switch (event.type) {
    case 'queue.depth':
      return `queue.depth/${event.queue}`;
    case 'actor.state':
      return `actor.state/${event.actor}`;
    case 'base.progress':
    case 'buffer.sizes':
    case 'executor.stats':
      return event.type;
    case 'error':
      return `error/${event.source}/${event.kind}`;
    default:
      return null;
  }
}

/**
 * Wraps an event for the feed. Serializing and classifying happen on first use, so a feed nobody watches costs the
 * run almost nothing; once serialized, the text is shared by every client. An event read from the log brings its
 * line (`json`), which is sent as it is.
 */
export function toFeedEvent(event: RunEvent, json: string | null = null): FeedEvent {
  return new LazyFeedEvent(event, json);
}

class LazyFeedEvent implements FeedEvent {
  private size = -1;
  private coalesce: string | null | undefined = undefined;
  /** `text`: the event's log line when it was read from events.jsonl (sent as is), else serialized on first use. */
  constructor(
    readonly event: RunEvent,
    private text: string | null,
  ) {}
  get seq(): number {
    return this.event.seq;
  }
  get type(): RunEventType {
    return this.event.type;
  }
  get json(): string {
    if (this.text === null) this.text = JSON.stringify(this.event);
    return this.text;
  }
  get bytes(): number {
    if (this.size < 0) this.size = Buffer.byteLength(this.json);
    return this.size;
  }
  get key(): string | null {
    if (this.coalesce === undefined) this.coalesce = coalesceKey(this.event);
    return this.coalesce;
  }
  get policy(): DeliveryPolicy {
    return DROPPED.has(this.event.type) ? 'drop' : this.key !== null ? 'coalesce' : 'keep';
  }
}

const EVENTS_HEAD = '{"op":"events","events":[';
const EVENTS_TAIL = ']}';

/** The `events` message for a batch, built from the serialized events (no re-serialization). */
export function encodeEvents(events: readonly FeedEvent[]): Buffer {
  let text = EVENTS_HEAD;
  for (let i = 0; i < events.length; i++) text += (i === 0 ? '' : ',') + events[i]!.json;
  return Buffer.from(text + EVENTS_TAIL);
}

/** Splits a batch into message-sized chunks (at most `maxEvents` events and about `maxBytes` bytes each). */
export function chunkEvents(events: readonly FeedEvent[], maxEvents: number, maxBytes: number): FeedEvent[][] {
  const chunks: FeedEvent[][] = [];
  let chunk: FeedEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    if (chunk.length > 0 && (chunk.length >= maxEvents || bytes + event.bytes > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(event);
    bytes += event.bytes + 1;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Where bytes go: a websocket, or a fake in tests. */
interface SendTransport {
  /** Bytes handed over but not yet written to the socket (`ws.bufferedAmount`). */
  readonly bufferedAmount: number;
  /** Sends one text message; `done` runs once it is written to the socket (or failed). */
  send(data: Buffer, done: (error?: Error) => void): void;
}

export interface SendQueueOptions {
  /** Bound on queued + socket-buffered bytes; an events message that would exceed it starts skipping. */
  maxBytes: number;
  /** Skipping ends (gaps and kept events are sent) once everything queued is written and the socket holds ≤ this. */
  lowWaterBytes: number;
  /** Messages move from this queue to the socket only while the socket buffers less than this. */
  socketHighWaterBytes: number;
  /** Control messages are never dropped, but past this many pending bytes the client is cut off. */
  hardMaxBytes: number;
  /** Milestone events kept while skipping; the oldest beyond this become part of a gap. */
  maxKeptEvents: number;
  /** Events per message when kept events are released. */
  maxBatchEvents: number;
  maxBatchBytes: number;
  /** How long the queue may stay over the limit (skipping, or a replay waiting for room) before `onStall`. */
  stallTimeoutMs: number;
  /** The client stayed over the limit for `stallTimeoutMs`, or passed `hardMaxBytes`: disconnect it. */
  onStall: (why: string) => void;
  /** Timers, replaceable in tests. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface SendQueueStats {
  messagesSent: number;
  bytesSent: number;
  /** Events skipped (announced in gaps). */
  eventsSkipped: number;
  /** Events replaced by a later one of the same key while skipping. */
  eventsCoalesced: number;
  gapsSent: number;
  /** Largest queued + socket-buffered bytes seen. */
  maxPendingBytes: number;
}

type Piece = { kind: 'gap'; from: number; to: number } | { kind: 'event'; event: FeedEvent };

/** Raised by {@link SendQueue.whenBelow} when the client does not make room in time, or the queue is closed. */
export class SendQueueStalledError extends Error {
  override readonly name = 'SendQueueStalledError';
}

/**
 * A client's outgoing messages, bounded by bytes so that the run never waits for a slow client.
 *
 * Normal: messages queue here and move to the socket while it buffers less than `socketHighWaterBytes`.
 * Over `maxBytes` (queued + socket-buffered): new events are not queued but recorded as *pieces* — skipped seq
 * ranges (merged) and the few events kept by policy ({@link DeliveryPolicy}) — whose size is bounded by
 * `maxKeptEvents`. When everything queued has been written and the socket holds ≤ `lowWaterBytes`, the pieces
 * are sent in seq order as `gap` and `events` messages, so the client sees every seq either delivered or
 * announced, in order. Control messages (hello, subscribed, gap, error) are never dropped. A client that stays
 * over the limit for `stallTimeoutMs` (or passes `hardMaxBytes`) is reported through `onStall`.
 */
export class SendQueue {
  readonly stats: SendQueueStats = {
    messagesSent: 0,
    bytesSent: 0,
    eventsSkipped: 0,
    eventsCoalesced: 0,
    gapsSent: 0,
    maxPendingBytes: 0,
  };
  private readonly items: Buffer[] = [];
  private queuedBytes = 0;
  private pieces: Piece[] | null = null;
  private kept = 0;
  private pumping = false;
  private closed = false;
  private stallTimer: unknown = null;
  private waiter: { bytes: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(
    private readonly transport: SendTransport,
    private readonly options: SendQueueOptions,
  ) {
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** Queued here plus buffered in the socket. */
  get pendingBytes(): number {
    return this.queuedBytes + this.transport.bufferedAmount;
  }

  /** True while events are being skipped. */
  get skipping(): boolean {
    return this.pieces !== null;
  }

  /** Queues a control message; it is never dropped (but a client whose queue passes `hardMaxBytes` is cut off). */
  offerControl(message: string): void {
    if (this.closed) return;
    this.push(Buffer.from(message));
    if (this.pendingBytes > this.options.hardMaxBytes) {
      this.stall(`send queue passed ${this.options.hardMaxBytes} bytes`);
      return;
    }
    this.pump();
  }

  /**
   * Offers a batch of events in seq order (already filtered for this client). `message` is the prebuilt `events`
   * message for exactly this batch, when the caller shares one among clients.
   */
  offerEvents(events: readonly FeedEvent[], message?: Buffer): void {
    if (this.closed || events.length === 0) return;
    this.pump();
    if (this.pieces === null) {
      const data = message ?? encodeEvents(events);
      if (this.pendingBytes + data.length <= this.options.maxBytes) {
        this.push(data);
        this.pump();
        return;
      }
      this.startSkipping();
    }
    for (const event of events) this.addPiece(event);
  }

  /**
   * Resolves once pending bytes are ≤ `bytes` and nothing is being skipped (a replay waits here instead of
   * skipping: it reads from the log at the client's pace). Rejects with {@link SendQueueStalledError} if that takes
   * longer than `stallTimeoutMs`, after reporting the stall.
   */
  whenBelow(bytes: number): Promise<void> {
    if (this.closed) return Promise.reject(new SendQueueStalledError('send queue closed'));
    if (this.pieces === null && this.pendingBytes <= bytes) return Promise.resolve();
    if (this.waiter !== null) throw new Error('SendQueue.whenBelow: one waiter at a time');
    return new Promise<void>((resolve, reject) => {
      this.waiter = { bytes, resolve, reject };
      this.armStallTimer();
    });
  }

  /** Moves queued messages to the socket while it has room; releases skipped pieces once drained. */
  pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      this.notePending();
      this.sendWhileRoom();
      if (
        this.items.length === 0 &&
        this.pieces !== null &&
        this.transport.bufferedAmount <= this.options.lowWaterBytes
      ) {
        this.releasePieces();
        // The released gap/events messages go out right away if the socket has room.
        this.sendWhileRoom();
      }
      const waiter = this.waiter;
      if (waiter !== null && this.pieces === null && this.pendingBytes <= waiter.bytes) {
        this.waiter = null;
        this.disarmStallTimer();
        waiter.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Hands queued messages to the socket, oldest first, while its buffer is under the high-water mark. */
  private sendWhileRoom(): void {
    while (this.items.length > 0 && this.transport.bufferedAmount < this.options.socketHighWaterBytes) {
      const data = this.items.shift()!;
      this.queuedBytes -= data.length;
      this.stats.messagesSent += 1;
      this.stats.bytesSent += data.length;
      this.transport.send(data, () => this.pump());
    }
  }

  /** Drops everything and stops; a pending {@link whenBelow} rejects. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.items.length = 0;
    this.queuedBytes = 0;
    this.pieces = null;
    this.disarmStallTimer();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(new SendQueueStalledError('send queue closed'));
  }

  private push(data: Buffer): void {
    this.items.push(data);
    this.queuedBytes += data.length;
    this.notePending();
  }

  private notePending(): void {
    const pending = this.pendingBytes;
    if (pending > this.stats.maxPendingBytes) this.stats.maxPendingBytes = pending;
  }

  private startSkipping(): void {
    this.pieces = [];
    this.kept = 0;
    this.armStallTimer();
  }

  private addPiece(event: FeedEvent): void {
    const pieces = this.pieces!;
    if (event.policy === 'drop') {
      this.appendGap(event.seq);
      return;
    }
    if (event.policy === 'coalesce') {
      const i = pieces.findIndex((p) => p.kind === 'event' && p.event.key === event.key);
      if (i >= 0) {
        this.toGap(i);
        this.stats.eventsCoalesced += 1;
      }
    }
    pieces.push({ kind: 'event', event });
    this.kept += 1;
    if (this.kept > this.options.maxKeptEvents) this.toGap(pieces.findIndex((p) => p.kind === 'event'));
  }

  private appendGap(seq: number): void {
    const pieces = this.pieces!;
    const last = pieces[pieces.length - 1];
    if (last !== undefined && last.kind === 'gap') last.to = seq;
    else pieces.push({ kind: 'gap', from: seq, to: seq });
    this.stats.eventsSkipped += 1;
  }

  /** Turns the kept event at `i` into a skipped seq, merged with skipped neighbours. */
  private toGap(i: number): void {
    const pieces = this.pieces!;
    const piece = pieces[i]!;
    if (piece.kind !== 'event') return;
    this.kept -= 1;
    this.stats.eventsSkipped += 1;
    let from = piece.event.seq;
    let to = piece.event.seq;
    let start = i;
    let count = 1;
    const before = pieces[i - 1];
    if (before?.kind === 'gap') {
      from = before.from;
      start = i - 1;
      count += 1;
    }
    const after = pieces[i + 1];
    if (after?.kind === 'gap') {
      to = after.to;
      count += 1;
    }
    pieces.splice(start, count, { kind: 'gap', from, to });
  }

  private releasePieces(): void {
    const pieces = this.pieces!;
    this.pieces = null;
    this.kept = 0;
    if (this.waiter === null) this.disarmStallTimer();
    let run: FeedEvent[] = [];
    const flushRun = () => {
      for (const chunk of chunkEvents(run, this.options.maxBatchEvents, this.options.maxBatchBytes))
        this.push(encodeEvents(chunk));
      run = [];
    };
    for (const piece of pieces) {
      if (piece.kind === 'event') {
        run.push(piece.event);
        continue;
      }
      flushRun();
      this.push(
        Buffer.from(JSON.stringify({ op: 'gap', fromSeq: piece.from, toSeq: piece.to, reason: 'slow-client' })),
      );
      this.stats.gapsSent += 1;
    }
    flushRun();
  }

  private armStallTimer(): void {
    if (this.stallTimer !== null) return;
    this.stallTimer = this.setTimer(() => {
      this.stallTimer = null;
      this.stall(`send queue over ${this.options.maxBytes} bytes for ${this.options.stallTimeoutMs} ms`);
    }, this.options.stallTimeoutMs);
  }

  private disarmStallTimer(): void {
    if (this.stallTimer === null) return;
    this.clearTimer(this.stallTimer);
    this.stallTimer = null;
  }

  private stall(why: string): void {
    if (this.closed) return;
    const waiter = this.waiter;
    this.waiter = null;
    this.close();
    waiter?.reject(new SendQueueStalledError(why));
    this.options.onStall(why);
  }
}
