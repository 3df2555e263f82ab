// One feed client on the server side: its subscription, its cursor in the seq space, its bounded send queue, and its
// catch-up from events.jsonl and the feed's memory before live delivery.
import { existsSync } from 'node:fs';
import type { RawData, WebSocket } from 'ws';
import type { RunEventType } from '../streams/events.js';
import { readEventLogEntries, type LoggedEvent } from '../streams/eventLog.js';
import {
  FEED_CLOSE_CODES,
  FeedProtocolError,
  ServerMessageSchema,
  parseClientMessage,
  subscribedTypes,
} from './protocol.js';
import type { ServerMessage, SubscribeMessage } from './protocol.js';
import type { RecentEvents } from './recentEvents.js';
import { SendQueue, SendQueueStalledError, chunkEvents, encodeEvents, toFeedEvent } from './sendQueue.js';
import type { FeedEvent, SendQueueStats } from './sendQueue.js';

/** One connected client, as the server's `stats()` reports it. */
export interface FeedClientStats extends SendQueueStats {
  id: number;
  remote: string;
  state: 'idle' | 'catching-up' | 'live' | 'done';
  /** Next seq this client will be sent (or skip). */
  cursor: number;
  pendingBytes: number;
  skipping: boolean;
}

/** The feed options that bound each connection, with their defaults applied (the server resolves them). */
export interface FeedLimits {
  maxPayload: number;
  maxQueueBytes: number;
  socketHighWaterBytes: number;
  stallTimeoutMs: number;
  heartbeatMs: number;
  maxBatchEvents: number;
  maxBatchBytes: number;
  maxKeptEvents: number;
  closeGraceMs: number;
  flushIntervalMs: number;
}

/** What a connection needs of the server it belongs to. */
export interface ConnectionHost {
  readonly limits: FeedLimits;
  readonly counters: { disconnectedSlow: number };
  readonly options: { readonly logPath: string; readonly flushLog?: (() => void) | undefined };
  readonly source: { readonly live: boolean };
  /** The seq the next event will get: the head of the feed. */
  readonly nextSeq: number;
  readonly recentEvents: RecentEvents;
  say(line: string): void;
  /** Records a client's queued + socket-buffered bytes (for the server's high-water mark). */
  notePending(bytes: number): void;
  /** The hello message for a new connection. */
  hello(): ServerMessage;
  /** Called once, when the connection has closed. */
  forget(connection: Connection): void;
}

/** One websocket client: its subscription, its cursor in the seq space, and its bounded send queue. */
export class Connection {
  alive = true;
  state: FeedClientStats['state'] = 'idle';
  /** Next seq to deliver or skip. */
  cursor = 0;
  private filter: ReadonlySet<RunEventType> | null = null;
  private filterKey = '*';
  private generation = 0;
  private closed = false;
  private closing = false;
  private closedPromise: Promise<void>;
  private markClosed!: () => void;
  private reader: { events: AsyncGenerator<LoggedEvent>; nextSeq: number; held: LoggedEvent | null } | null = null;
  private readonly queue: SendQueue;

  constructor(
    private readonly feed: ConnectionHost,
    private readonly ws: WebSocket,
    readonly id: number,
    readonly remote: string,
  ) {
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
    const limits = feed.limits;
    this.queue = new SendQueue(
      {
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
        send: (data, done) => ws.send(data, { binary: false }, done),
      },
      {
        maxBytes: limits.maxQueueBytes,
        lowWaterBytes: Math.floor(limits.maxQueueBytes / 4),
        socketHighWaterBytes: limits.socketHighWaterBytes,
        hardMaxBytes: limits.maxQueueBytes * 2,
        maxKeptEvents: limits.maxKeptEvents,
        maxBatchEvents: limits.maxBatchEvents,
        maxBatchBytes: limits.maxBatchBytes,
        stallTimeoutMs: limits.stallTimeoutMs,
        onStall: (why) => {
          feed.counters.disconnectedSlow += 1;
          feed.say(`client ${id} is not reading (${why}): disconnected`);
          void this.closeAndWait(FEED_CLOSE_CODES.slowConsumer, `slow consumer: ${why}`);
        },
      },
    );
  }

  start(): void {
    this.ws.on('pong', () => (this.alive = true));
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('error', (error) => this.feed.say(`client ${this.id}: ${error.message}`));
    this.ws.on('close', (code, reason) => {
      this.feed.say(`client ${this.id} closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`);
      this.dispose();
    });
    this.sendControl(this.feed.hello());
  }

  stats(): FeedClientStats {
    return {
      id: this.id,
      remote: this.remote,
      state: this.state,
      cursor: this.cursor,
      pendingBytes: this.queue.pendingBytes,
      skipping: this.queue.skipping,
      ...this.queue.stats,
    };
  }

  ping(): void {
    try {
      this.ws.ping();
    } catch {
      // a socket that is already closing: the close handler cleans up
    }
  }

  terminate(): void {
    this.ws.terminate();
    this.dispose();
  }

  /** Sends a close frame, then terminates a peer that does not finish the handshake within the grace period. */
  closeAndWait(code: number, reason: string): Promise<void> {
    if (this.closed || this.closing) return this.closedPromise;
    this.closing = true;
    this.queue.close();
    this.generation += 1;
    // A close reason is limited to 123 bytes.
    this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    const timer = setTimeout(() => this.terminate(), this.feed.limits.closeGraceMs);
    timer.unref();
    return this.closedPromise.finally(() => clearTimeout(timer));
  }

  /** Live delivery of one flushed batch (seq order): skips what this client already has, applies its filter. */
  deliver(batch: readonly FeedEvent[], shared: Map<string, { events: FeedEvent[]; message: Buffer }[]>): void {
    const last = batch[batch.length - 1]!;
    if (last.seq < this.cursor) return;
    let start = 0;
    while (batch[start]!.seq < this.cursor) start += 1;
    this.cursor = last.seq + 1;
    const key = `${this.filterKey}@${start}`;
    let chunks = shared.get(key);
    if (chunks === undefined) {
      const slice = start === 0 ? batch : batch.slice(start);
      const filter = this.filter;
      const selected = filter === null ? slice : slice.filter((e) => filter.has(e.type));
      chunks = chunkEvents(selected, this.feed.limits.maxBatchEvents, this.feed.limits.maxBatchBytes).map((events) => ({
        events,
        message: encodeEvents(events),
      }));
      shared.set(key, chunks);
    }
    for (const chunk of chunks) this.queue.offerEvents(chunk.events, chunk.message);
    this.feed.notePending(this.queue.pendingBytes);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.sendError('binary frames are not part of azr.v1: send JSON text');
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    let message: SubscribeMessage;
    try {
      message = parseClientMessage(text);
    } catch (error) {
      this.sendError(error instanceof FeedProtocolError ? error.message : String(error));
      return;
    }
    this.subscribe(message);
  }

  private subscribe(message: SubscribeMessage): void {
    this.generation += 1;
    void this.closeReader();
    const types = subscribedTypes(message);
    this.filter = types === null ? null : new Set(types);
    this.filterKey = types === null ? '*' : types.join(',');
    this.cursor = message.fromSeq ?? this.feed.nextSeq;
    this.state = 'catching-up';
    this.sendControl({ op: 'subscribed', fromSeq: this.cursor, types });
    void this.catchUp(this.generation);
  }

  /**
   * Sends events from `cursor` up to the feed's head: from events.jsonl while the seq needed is older than the
   * feed's memory, then from memory; the last batch and the switch to live delivery happen in one synchronous
   * turn, so no live event slips between them. Waits for the client to make room instead of skipping.
   */
  private async catchUp(generation: number): Promise<void> {
    const feed = this.feed;
    const limits = feed.limits;
    const current = () => generation === this.generation && !this.closed;
    let flushed = false;
    try {
      while (current()) {
        await this.queue.whenBelow(Math.floor(limits.maxQueueBytes / 4));
        if (!current()) return;
        const head = feed.nextSeq;
        if (this.cursor >= head) {
          this.state = feed.source.live ? 'live' : 'done';
          return;
        }
        if (feed.recentEvents.has(this.cursor)) {
          const events = feed.recentEvents.from(this.cursor, limits.maxBatchEvents);
          this.send(events);
          this.cursor = events[events.length - 1]!.seq + 1;
          if (this.cursor >= feed.nextSeq) this.state = 'live';
          if (this.state === 'live') return;
          continue;
        }
        const events = await this.readLog();
        if (!current()) return;
        if (events.length > 0 && events[0]!.seq === this.cursor) {
          this.send(events);
          this.cursor = events[events.length - 1]!.seq + 1;
          flushed = false;
          continue;
        }
        // Not in the file (still in the writer's buffer) and no longer in memory.
        if (!flushed && feed.options.flushLog !== undefined) {
          flushed = true;
          try {
            feed.options.flushLog();
          } catch {
            // a closed log has written everything already
          }
          continue;
        }
        const available = events[0]?.seq ?? feed.recentEvents.firstSeq ?? feed.nextSeq;
        if (available <= this.cursor) throw new Error(`events.jsonl does not continue at seq ${this.cursor}`);
        this.sendControl({ op: 'gap', fromSeq: this.cursor, toSeq: available - 1, reason: 'unavailable' });
        this.cursor = available;
      }
    } catch (error) {
      if (error instanceof SendQueueStalledError || !current()) return;
      feed.say(`client ${this.id}: replay failed: ${(error as Error).message}`);
      this.sendError(`replay from events.jsonl failed: ${(error as Error).message}`);
      this.state = 'idle';
    } finally {
      if (generation === this.generation) await this.closeReader();
    }
  }

  /** The next batch of logged events from `cursor` (below the feed's head); empty at the end of the file. */
  private async readLog(): Promise<FeedEvent[]> {
    const limits = this.feed.limits;
    if (this.reader === null || this.reader.nextSeq !== this.cursor) {
      await this.closeReader();
      if (!existsSync(this.feed.options.logPath)) return [];
      this.reader = {
        events: readEventLogEntries(this.feed.options.logPath, { fromSeq: this.cursor }),
        nextSeq: this.cursor,
        held: null,
      };
    }
    const reader = this.reader;
    const out: FeedEvent[] = [];
    let bytes = 0;
    while (out.length < limits.maxBatchEvents && bytes < limits.maxBatchBytes) {
      let entry = reader.held;
      reader.held = null;
      if (entry === null) {
        const next = await reader.events.next();
        if (next.done) {
          if (this.reader === reader) this.reader = null;
          break;
        }
        entry = next.value;
      }
      // The head moves while we read; a replayed log (no bus) may have grown since the feed started.
      if (entry.event.seq >= this.feed.nextSeq) {
        reader.held = entry;
        break;
      }
      const fe = toFeedEvent(entry.event, entry.text);
      out.push(fe);
      bytes += fe.bytes;
      reader.nextSeq = entry.event.seq + 1;
    }
    return out;
  }

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    if (reader !== null) await reader.events.return(undefined).catch(() => undefined);
  }

  /** Catch-up sending: the filtered batch as one or more messages. */
  private send(events: readonly FeedEvent[]): void {
    const filter = this.filter;
    const selected = filter === null ? events : events.filter((e) => filter.has(e.type));
    for (const chunk of chunkEvents(selected, this.feed.limits.maxBatchEvents, this.feed.limits.maxBatchBytes))
      this.queue.offerEvents(chunk);
    this.feed.notePending(this.queue.pendingBytes);
  }

  private sendControl(message: ServerMessage): void {
    // Control messages are few; validating them keeps the server honest about its own protocol.
    this.queue.offerControl(JSON.stringify(ServerMessageSchema.parse(message)));
    this.feed.notePending(this.queue.pendingBytes);
  }

  private sendError(message: string): void {
    this.sendControl({ op: 'error', message });
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    this.queue.close();
    void this.closeReader();
    this.feed.forget(this);
    this.markClosed();
  }
}
