// The feed server: run events over websocket (azr.v1) and the dashboard page, on one HTTP port.
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { EVENT_SCHEMA_VERSION } from '../streams/events.js';
import type { RunEvent, RunEventType } from '../streams/events.js';
import { lastLoggedEvent, readEventLog, readEventLogEntries, type LoggedEvent } from '../streams/eventLog.js';
import { serveDashboardFile } from './dashboardFiles.js';
import {
  DEFAULT_FEED_PORT,
  FEED_CLOSE_CODES,
  FEED_PROTOCOL,
  FeedProtocolError,
  ServerMessageSchema,
  parseClientMessage,
  subscribedTypes,
  summarizeScenario,
} from './protocol.js';
import type { ScenarioSummary, ServerMessage, SubscribeMessage } from './protocol.js';
import { RecentEvents } from './recentEvents.js';
import { SendQueue, SendQueueStalledError, chunkEvents, encodeEvents, toFeedEvent } from './sendQueue.js';
import type { FeedEvent, SendQueueStats } from './sendQueue.js';

/** What the feed needs of a run's event bus (an `EventBus` fits). */
export interface FeedBus {
  readonly events$: Observable<RunEvent>;
  /** The seq the next event will get. */
  readonly nextSeq: number;
  readonly step: number;
}

export interface FeedOptions {
  /** The live run's bus. Omit it to serve a finished run's log ({@link startReplayFeed} does that). */
  bus?: FeedBus;
  /** The run's events.jsonl: past events are replayed from it. */
  logPath: string;
  /** Run id for `hello`; required with `bus` (without, it comes from the log). */
  runId?: string;
  /** Scenario facts for `hello`; default: taken from the run.started event (in the log, or when it is emitted). */
  scenario?: ScenarioSummary | null;
  /** Interface to listen on. Default 127.0.0.1; anything but loopback requires `token`. */
  host?: string;
  /** Port; 0 picks a free one. Default {@link DEFAULT_FEED_PORT}. */
  port?: number;
  /** Shared secret: clients send `Authorization: Bearer TOKEN` or `?token=TOKEN`. Checked on every connection. */
  token?: string;
  /** Browser origins allowed besides the page's own (`http://host:port`); non-browser clients send none. */
  allowedOrigins?: readonly string[];
  /** Writes the log writer's buffer out (`() => log.flush()`); used when a catching-up client needs events in it. */
  flushLog?: () => void;
  /** Largest client message in bytes; bigger ones close the connection with 1009. Default 4096. */
  maxPayload?: number;
  /** Per-client send bound (queued + socket-buffered bytes). Default 1 MiB. */
  maxQueueBytes?: number;
  /** Bytes handed to the socket at a time per client. Default 64 KiB. */
  socketHighWaterBytes?: number;
  /** A client over its send bound this long is disconnected (close 4008). Default 10 s. */
  stallTimeoutMs?: number;
  /** Ping interval; a peer that has not answered the previous ping is terminated. Default 15 s; 0 turns it off. */
  heartbeatMs?: number;
  /** Latest events held in memory for clients catching up. Default 4096. */
  recentEvents?: number;
  /**
   * Live events are gathered this long before they go out as one batch per client (fewer, larger messages: less
   * work for the run's thread and for clients). Default 20 ms; 0 sends after every turn of the event loop.
   */
  flushIntervalMs?: number;
  /** Events per `events` message. Default 256. */
  maxBatchEvents?: number;
  /** About this many bytes per `events` message. Default 128 KiB. */
  maxBatchBytes?: number;
  /** Milestone events kept per client while it is skipping. Default 256. */
  maxKeptEvents?: number;
  /** After a close frame, a peer that does not complete the close is terminated after this. Default 1 s. */
  closeGraceMs?: number;
  /** Diagnostics (connections, refusals, disconnects); default silent. */
  log?: (line: string) => void;
}

/** One connected client, as {@link FeedServer.stats} reports it. */
export interface FeedClientStats extends SendQueueStats {
  id: number;
  remote: string;
  state: 'idle' | 'catching-up' | 'live' | 'done';
  /** Next seq this client will be sent (or skip). */
  cursor: number;
  pendingBytes: number;
  skipping: boolean;
}

export interface FeedServerStats {
  /** Events received from the bus (live) or found in the log (replay). */
  nextSeq: number;
  connectionsTotal: number;
  refused: number;
  disconnectedSlow: number;
  terminatedUnresponsive: number;
  /** Largest queued + socket-buffered bytes of any client, ever. */
  maxClientPendingBytes: number;
  clients: FeedClientStats[];
}

export interface FeedServer {
  readonly host: string;
  readonly port: number;
  /** The dashboard, e.g. `http://127.0.0.1:7341/`. */
  readonly url: string;
  /** The websocket endpoint, e.g. `ws://127.0.0.1:7341/`. */
  readonly wsUrl: string;
  stats(): FeedServerStats;
  /** Closes every connection (1001) and the port. */
  close(): Promise<void>;
}

/** A feed option that cannot work (e.g. a non-loopback host without a token). */
export class FeedConfigError extends Error {
  override readonly name = 'FeedConfigError';
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

interface Resolved {
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

/**
 * Starts the feed for a live run: subscribes to the bus (never slowing it: every client has a bounded queue) and
 * listens for websocket clients and dashboard requests.
 *
 * @example
 * const log = EventLog.create(join(runDir, 'events.jsonl'));
 * bus.events$.subscribe((e) => log.append(e));
 * const feed = await startFeed({ bus, logPath: log.path, runId, flushLog: () => log.flush(), port: 7341 });
 * console.error(`dashboard: ${feed.url}`);
 * // … run …
 * await feed.close();
 */
export async function startFeed(options: FeedOptions): Promise<FeedServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && (options.token === undefined || options.token === ''))
    throw new FeedConfigError(
      `the feed would listen on ${host}, which is not loopback: pass a token (--token) that clients must send ` +
        `(Authorization: Bearer TOKEN or ?token=TOKEN), or listen on 127.0.0.1`,
    );
  const source = options.bus !== undefined ? await liveSource(options) : await replaySource(options.logPath);
  const feed = new Feed(options, source, host);
  await feed.listen(options.port ?? DEFAULT_FEED_PORT);
  return feed;
}

/** Serves a finished run's events.jsonl over the same protocol (no bus): what `azr replay` runs. */
export function startReplayFeed(options: Omit<FeedOptions, 'bus' | 'flushLog'>): Promise<FeedServer> {
  const { bus: _bus, flushLog: _flush, ...rest } = options as FeedOptions;
  return startFeed(rest);
}

interface Source {
  live: boolean;
  runId: string;
  scenario: ScenarioSummary | null;
  nextSeq: number;
  step: number;
  finished: boolean;
}

/** The log's run.started event (the first; events before it are the base-model build's), or null. */
async function runStartedIn(path: string): Promise<RunEvent | null> {
  if (!existsSync(path)) return null;
  for await (const event of readEventLog(path)) if (event.type === 'run.started') return event;
  return null;
}

function scenarioOf(event: RunEvent | null): ScenarioSummary | null {
  return event?.type === 'run.started' ? summarizeScenario(event.scenario, event.backend) : null;
}

async function liveSource(options: FeedOptions): Promise<Source> {
  const bus = options.bus!;
  if (options.runId === undefined || options.runId === '')
    throw new FeedConfigError('startFeed: runId is required with a bus');
  const scenario = options.scenario !== undefined ? options.scenario : scenarioOf(await runStartedIn(options.logPath));
  return { live: true, runId: options.runId, scenario, nextSeq: bus.nextSeq, step: bus.step, finished: false };
}

async function replaySource(path: string): Promise<Source> {
  if (!existsSync(path)) throw new FeedConfigError(`${path}: no such events.jsonl`);
  // the last event read from the end; run.started from the front (the base build's events come before it)
  const last = lastLoggedEvent(path);
  if (last === null) throw new FeedConfigError(`${path}: the log holds no events`);
  const started = await runStartedIn(path);
  return {
    live: false,
    runId: last.runId,
    scenario: scenarioOf(started),
    nextSeq: last.seq + 1,
    step: last.step,
    finished: true,
  };
}

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

class Feed implements FeedServer {
  host: string;
  port = 0;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly recent: RecentEvents;
  private pending: FeedEvent[] = [];
  private flushScheduled = false;
  private flushTimer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | null = null;
  private subscription: Subscription | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private closing: Promise<void> | null = null;
  private nextConnectionId = 1;
  private readonly tokenHash: Buffer | null;
  readonly limits: Resolved;
  readonly counters = {
    connectionsTotal: 0,
    refused: 0,
    disconnectedSlow: 0,
    terminatedUnresponsive: 0,
    maxClientPendingBytes: 0,
  };

  constructor(
    readonly options: FeedOptions,
    readonly source: Source,
    host: string,
  ) {
    this.host = host;
    this.limits = {
      maxPayload: options.maxPayload ?? 4096,
      maxQueueBytes: options.maxQueueBytes ?? 1024 * 1024,
      socketHighWaterBytes: options.socketHighWaterBytes ?? 64 * 1024,
      stallTimeoutMs: options.stallTimeoutMs ?? 10_000,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      maxBatchEvents: options.maxBatchEvents ?? 256,
      maxBatchBytes: options.maxBatchBytes ?? 128 * 1024,
      maxKeptEvents: options.maxKeptEvents ?? 256,
      closeGraceMs: options.closeGraceMs ?? 1000,
      flushIntervalMs: options.flushIntervalMs ?? 20,
    };
    this.recent = new RecentEvents(options.recentEvents ?? 4096);
    this.tokenHash = options.token !== undefined && options.token !== '' ? tokenDigest(options.token) : null;
    this.http = createServer((req, res) => this.onRequest(req, res));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(FEED_PROTOCOL) ? FEED_PROTOCOL : false),
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  get url(): string {
    return `http://${this.hostForUrl()}:${this.port}/`;
  }

  get wsUrl(): string {
    return `ws://${this.hostForUrl()}:${this.port}/`;
  }

  get nextSeq(): number {
    return this.source.nextSeq;
  }

  get recentEvents(): RecentEvents {
    return this.recent;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, this.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.port = (this.http.address() as AddressInfo).port;
    if (this.source.live) {
      this.subscription = this.options.bus!.events$.subscribe({
        // The feed only observes: whatever goes wrong here must not reach the producer's emit.
        next: (event) => {
          try {
            this.onEvent(event);
          } catch (error) {
            this.say(`feed: event ${event.seq} not handled: ${(error as Error).message}`);
          }
        },
        complete: () => {
          this.source.finished = true;
          this.flush();
        },
      });
    }
    if (this.limits.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
      this.heartbeat.unref();
    }
    this.say(`feed listening on ${this.url} (${this.source.live ? 'live' : 'replay'} run ${this.source.runId})`);
  }

  stats(): FeedServerStats {
    return {
      nextSeq: this.source.nextSeq,
      ...this.counters,
      clients: [...this.connections].map((c) => c.stats()),
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  say(line: string): void {
    this.options.log?.(line);
  }

  notePending(bytes: number): void {
    if (bytes > this.counters.maxClientPendingBytes) this.counters.maxClientPendingBytes = bytes;
  }

  /** The hello message for a new connection. */
  hello(): ServerMessage {
    return {
      op: 'hello',
      protocol: FEED_PROTOCOL,
      schemaVersion: EVENT_SCHEMA_VERSION,
      runId: this.source.runId,
      scenario: this.source.scenario,
      source: this.source.live ? 'live' : 'replay',
      nextSeq: this.source.nextSeq,
      step: this.source.step,
      finished: this.source.finished,
      limits: { maxPayload: this.limits.maxPayload, maxQueueBytes: this.limits.maxQueueBytes },
    };
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  // --- the bus side: cheap and synchronous, so the run never waits --------------------------------------------

  private onEvent(event: RunEvent): void {
    const fe = toFeedEvent(event);
    this.recent.push(fe);
    this.source.nextSeq = event.seq + 1;
    this.source.step = event.step;
    if (event.type === 'run.started' && this.options.scenario === undefined) this.source.scenario = scenarioOf(event);
    if (event.type === 'run.finished') this.source.finished = true;
    if (this.connections.size === 0) return;
    this.pending.push(fe);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.flushTimer =
        this.limits.flushIntervalMs > 0
          ? setTimeout(() => this.flush(), this.limits.flushIntervalMs)
          : setImmediate(() => this.flush());
    }
  }

  /** Hands the events gathered since the last flush to every live client, one shared message per filter. */
  private flush(): void {
    this.flushScheduled = false;
    this.flushTimer = null;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const shared = new Map<string, { events: FeedEvent[]; message: Buffer }[]>();
    for (const connection of this.connections) {
      if (connection.state !== 'live') continue;
      try {
        connection.deliver(batch, shared);
      } catch (error) {
        this.say(`client ${connection.id}: delivery failed (${(error as Error).message}): terminated`);
        connection.terminate();
      }
    }
  }

  // --- HTTP and upgrade --------------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    void serveDashboardFile(req, res).catch((error: unknown) => {
      this.say(`http ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const refuse = (status: number, text: string) => {
      this.counters.refused += 1;
      this.say(`refused ${req.socket.remoteAddress ?? '?'}: ${status} ${text}`);
      const body = `${text}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (this.closing !== null) return refuse(503, 'the feed is closing');
    if (this.tokenHash !== null && !this.authorized(req))
      return refuse(401, 'a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)');
    // Without a token, only loopback host names: a DNS-rebound name pointing at 127.0.0.1 must not reach the run.
    if (this.tokenHash === null && !this.hostAllowed(req.headers.host))
      return refuse(403, `host ${req.headers.host ?? '(none)'} is not allowed`);
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, req.headers.host))
      return refuse(403, `origin ${origin} is not allowed`);
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (!offered.includes(FEED_PROTOCOL))
      return refuse(
        400,
        `websocket subprotocol ${FEED_PROTOCOL} required (offered: ${offered.length > 0 ? offered.join(', ') : 'none'})`,
      );
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    let given: string | null = null;
    if (header !== undefined && /^Bearer\s+/i.test(header)) given = header.replace(/^Bearer\s+/i, '').trim();
    else given = new URL(req.url ?? '/', 'http://feed').searchParams.get('token');
    return given !== null && timingSafeEqual(tokenDigest(given), this.tokenHash!);
  }

  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return true; // HTTP/1.0-style clients; browsers always send Host
    let name: string;
    try {
      name = new URL(`http://${host}`).hostname;
    } catch {
      return false;
    }
    return isLoopbackHost(name) || name.replace(/^\[|\]$/g, '') === this.host.replace(/^\[|\]$/g, '');
  }

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.options.allowedOrigins?.includes(origin)) return true;
    try {
      return host !== undefined && new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const connection = new Connection(
      this,
      ws,
      this.nextConnectionId++,
      `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
    );
    this.counters.connectionsTotal += 1;
    this.connections.add(connection);
    this.say(`client ${connection.id} connected from ${connection.remote}`);
    connection.start();
  }

  private beat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        this.counters.terminatedUnresponsive += 1;
        this.say(`client ${connection.id} did not answer the last ping: terminated`);
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }

  private async shutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer as ReturnType<typeof setTimeout>);
      clearImmediate(this.flushTimer as ReturnType<typeof setImmediate>);
    }
    const closed = [...this.connections].map((c) => c.closeAndWait(FEED_CLOSE_CODES.serverClosing, 'feed closing'));
    await Promise.all(closed);
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.wss.close();
  }

  private hostForUrl(): string {
    return this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
  }
}

/** One websocket client: its subscription, its cursor in the seq space, and its bounded send queue. */
class Connection {
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
    private readonly feed: Feed,
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
