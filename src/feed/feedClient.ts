// A Node client of the azr.v1 feed: validates every server message, resumes after reconnecting with backoff.
import WebSocket from 'ws';
import type { RunEvent, RunEventType } from '../streams/events.js';
import { FEED_PROTOCOL, FeedProtocolError, parseServerMessage } from './protocol.js';
import type { FeedChannel, GapMessage, HelloMessage } from './protocol.js';

export type FeedClientStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface FeedClientOptions {
  /** `ws://host:port/` of a feed. */
  url: string;
  /** Sent as `Authorization: Bearer TOKEN`. */
  token?: string;
  /** First seq wanted on the first connection; later connections resume after the last seq received. Default 0. */
  fromSeq?: number;
  types?: RunEventType[];
  channels?: FeedChannel[];
  /** Reconnect after the connection drops. Default true. */
  reconnect?: boolean;
  /** Backoff between attempts: doubles from `initialMs` up to `maxMs`. Default 250 ms … 10 s. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Give up after this many failed attempts in a row. Default: never. */
  maxAttempts?: number;
  onHello?: (hello: HelloMessage) => void;
  onEvents?: (events: RunEvent[]) => void;
  onGap?: (gap: GapMessage) => void;
  /** An `error` reply from the server, or a message that failed validation here. */
  onError?: (message: string) => void;
  onStatus?: (status: FeedClientStatus, detail: string) => void;
}

/** Why a {@link FeedClient} stopped. */
export interface FeedClientEnd {
  reason: 'closed' | 'gave-up' | 'refused';
  detail: string;
}

/**
 * Connects to a feed, subscribes, and hands validated events to its callbacks in seq order. After a drop it
 * reconnects with exponential backoff and subscribes from the seq after the last one it received, so a
 * consumer sees no duplicates; skipped ranges arrive as `onGap`. Handshake refusals (401, 403, 400) are final.
 *
 * @example
 * const client = new FeedClient({ url: 'ws://127.0.0.1:7341/', onEvents: (events) => console.log(events.length) });
 * client.start();
 * await client.ended;
 */
export class FeedClient {
  /** Resolves when the client stops for good ({@link close}, a refusal, or too many failed attempts). */
  readonly ended: Promise<FeedClientEnd>;
  private end!: (end: FeedClientEnd) => void;
  private ws: WebSocket | null = null;
  private cursor: number | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private lastHello: HelloMessage | null = null;

  constructor(private readonly options: FeedClientOptions) {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  /** The next seq this client wants (after the last event or gap it received), or null before any. */
  get nextSeq(): number | null {
    return this.cursor;
  }

  get hello(): HelloMessage | null {
    return this.lastHello;
  }

  start(): void {
    this.connect();
  }

  /** Closes the connection and stops reconnecting. */
  close(detail = 'closed by client'): void {
    this.finish({ reason: 'closed', detail });
  }

  private connect(): void {
    if (this.stopped) return;
    this.status(this.attempts === 0 ? 'connecting' : 'reconnecting', this.options.url);
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers['Authorization'] = `Bearer ${this.options.token}`;
    const ws = new WebSocket(this.options.url, FEED_PROTOCOL, { headers, maxPayload: 64 * 1024 * 1024 });
    this.ws = ws;
    let refused: string | null = null;
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => {
        refused = `${res.statusCode ?? '?'} ${body.trim()}`;
        ws.terminate();
      });
    });
    ws.on('open', () => {
      this.attempts = 0;
      this.status('open', this.options.url);
    });
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('error', (error) => {
      if (refused === null) this.status('reconnecting', error.message);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      // Refusals at the handshake (bad token, origin, subprotocol) will not change by retrying.
      if (refused !== null && /^(400|401|403)\b/.test(refused))
        return this.finish({ reason: 'refused', detail: `refused: ${refused}` });
      const detail =
        refused !== null
          ? `refused: ${refused}`
          : `closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`;
      this.attempts += 1;
      if (this.options.reconnect === false) return this.finish({ reason: 'closed', detail });
      if (this.attempts > (this.options.maxAttempts ?? Infinity)) return this.finish({ reason: 'gave-up', detail });
      const initial = this.options.backoff?.initialMs ?? 250;
      const max = this.options.backoff?.maxMs ?? 10_000;
      const delay = Math.min(max, initial * 2 ** Math.max(0, this.attempts - 1));
      this.status('reconnecting', `${detail}; retrying in ${delay} ms`);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.options.onError?.('server sent a binary frame');
    let message;
    try {
      message = parseServerMessage(data.toString('utf8'));
    } catch (error) {
      return this.options.onError?.(error instanceof FeedProtocolError ? error.message : String(error));
    }
    switch (message.op) {
      case 'hello': {
        this.lastHello = message;
        this.options.onHello?.(message);
        const subscribe = {
          op: 'subscribe',
          fromSeq: this.cursor ?? this.options.fromSeq ?? 0,
          ...(this.options.types !== undefined ? { types: this.options.types } : {}),
          ...(this.options.channels !== undefined ? { channels: this.options.channels } : {}),
        };
        this.ws?.send(JSON.stringify(subscribe));
        return;
      }
      case 'subscribed':
        return;
      case 'events': {
        const fresh = this.cursor === null ? message.events : message.events.filter((e) => e.seq >= this.cursor!);
        if (fresh.length === 0) return;
        this.cursor = fresh[fresh.length - 1]!.seq + 1;
        this.options.onEvents?.(fresh);
        return;
      }
      case 'gap':
        if (this.cursor === null || message.toSeq >= this.cursor) this.cursor = message.toSeq + 1;
        this.options.onGap?.(message);
        return;
      case 'error':
        this.options.onError?.(message.message);
        return;
    }
  }

  private status(status: FeedClientStatus, detail: string): void {
    this.options.onStatus?.(status, detail);
  }

  private finish(end: FeedClientEnd): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bye');
      else ws.terminate();
    }
    this.status('closed', end.detail);
    this.end(end);
  }
}
