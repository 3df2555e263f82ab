// The feed server: run events over websocket (azr.v1) and the dashboard page, on one HTTP port. Each client is a
// Connection (feedConnection.ts); who may connect is FeedAccess's to decide (feedAccess.ts).
import { existsSync } from 'node:fs';
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { EVENT_SCHEMA_VERSION } from '../streams/events.js';
import type { RunEvent } from '../streams/events.js';
import { lastLoggedEvent, readEventLog } from '../streams/eventLog.js';
import { serveDashboardFile } from './dashboardFiles.js';
import { FeedAccess, isLoopbackHost } from './feedAccess.js';
import { Connection } from './feedConnection.js';
import type { ConnectionHost, FeedClientStats, FeedLimits } from './feedConnection.js';
import { DEFAULT_FEED_PORT, FEED_CLOSE_CODES, FEED_PROTOCOL, summarizeScenario } from './protocol.js';
import type { ScenarioSummary, ServerMessage } from './protocol.js';
import { RecentEvents } from './recentEvents.js';
import { toFeedEvent } from './sendQueue.js';
import type { FeedEvent } from './sendQueue.js';

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

/** The server: one HTTP port for the dashboard and websocket upgrades, the bus subscription, the connections. */
class Feed implements FeedServer, ConnectionHost {
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
  private readonly access: FeedAccess;
  readonly limits: FeedLimits;
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
    this.access = new FeedAccess(options.token, host, options.allowedOrigins);
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
    const refused = this.access.refusal(req);
    if (refused !== null) return refuse(refused.status, refused.text);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
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
