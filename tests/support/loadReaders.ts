// Load-test clients of the feed: readers in a worker thread (their parsing off the run's event loop) and a client that never reads.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { FEED_PROTOCOL } from '../../src/feed/protocol.js';
import type { ServerMessage } from '../../src/feed/protocol.js';
import { waitUntil } from './waitUntil.js';

/** What one reading client saw. */
export interface LoadReaderStats {
  /** The seq after the last event or gap received. */
  next: number;
  events: number;
  gaps: number;
  /** Seqs announced in gaps. */
  skipped: number;
  /** Events with a seq already covered. */
  duplicates: number;
  /** Events or gaps that did not start where the previous one ended. */
  outOfOrder: number;
  /** Close code, or null while connected. */
  closed: number | null;
  /** Received run.finished. */
  finished: boolean;
}

export interface LoadReaders {
  /** Resolves when every client is subscribed. */
  readonly ready: Promise<void>;
  report(): Promise<LoadReaderStats[]>;
  /** Polls the reports until `predicate` holds for every client (no timeout of its own: the caller's applies). */
  until(predicate: (stats: LoadReaderStats) => boolean, pollMs?: number): Promise<LoadReaderStats[]>;
  close(): Promise<void>;
}

/** Starts `count` clients of `url` in one worker thread; each subscribes from `fromSeq` (default 0) to everything. */
export function startLoadReaders(url: string, count: number, fromSeq = 0): LoadReaders {
  const worker = new Worker(new URL('./loadReaders.worker.mjs', import.meta.url), {
    workerData: { url, count, fromSeq, protocol: FEED_PROTOCOL },
  });
  const reports: ((clients: LoadReaderStats[]) => void)[] = [];
  let markReady!: () => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  worker.on('message', (message: { kind: 'ready' } | { kind: 'report'; clients: LoadReaderStats[] }) => {
    if (message.kind === 'ready') markReady();
    else reports.shift()?.(message.clients);
  });
  worker.on('error', (error) => failReady(error));
  const report = () =>
    new Promise<LoadReaderStats[]>((resolve) => {
      reports.push(resolve);
      worker.postMessage('report');
    });
  return {
    ready,
    report,
    until: (predicate, pollMs = 50) =>
      waitUntil(
        async () => {
          const stats = await report();
          return stats.every(predicate) ? stats : null;
        },
        { what: 'every load reader to reach the condition', intervalMs: pollMs, timeoutMs: Infinity },
      ),
    async close() {
      worker.postMessage('close');
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        setTimeout(() => void worker.terminate(), 2000).unref();
      });
    },
  };
}

/**
 * A websocket client that completes the handshake, subscribes, and then never reads again (its socket is paused),
 * like a frozen browser tab: the server's writes pile up in the kernel and then in the server's own queue.
 */
export class StalledClient {
  readonly socket: Socket;
  /** Resolves when the server has dropped the connection. */
  readonly closed: Promise<void>;
  /** Resolves after the handshake and the subscribe frame were sent. */
  readonly subscribed: Promise<void>;

  constructor(port: number, subscribe: unknown) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.subscribed = new Promise((resolve, reject) => {
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        this.socket.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
        this.socket.write(maskedTextFrame(JSON.stringify(subscribe)));
        this.socket.pause();
        resolve();
      };
      this.socket.on('data', onData);
      this.socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: ${FEED_PROTOCOL}\r\n\r\n`,
      );
    });
  }

  /**
   * Starts reading again and decodes what arrives: text frames as protocol messages (JSON, not validated), and
   * the close frame's code. Call it once; returns the live arrays.
   */
  resume(): { messages: ServerMessage[]; close: { code: number } | null } {
    const out: { messages: ServerMessage[]; close: { code: number } | null } = { messages: [], close: null };
    let data = Buffer.alloc(0);
    this.socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      for (;;) {
        const frame = serverFrame(data);
        if (frame === null) break;
        data = data.subarray(frame.size);
        if (frame.opcode === 0x1) out.messages.push(JSON.parse(frame.payload.toString('utf8')) as ServerMessage);
        else if (frame.opcode === 0x8)
          out.close = { code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005 };
      }
    });
    this.socket.resume();
    return out;
  }

  /** Sends one message (a masked text frame, at most 125 bytes) without reading anything: writing needs no reading. */
  send(message: unknown): void {
    this.socket.write(maskedTextFrame(JSON.stringify(message)));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Decodes one unmasked, unfragmented server frame from the front of `data`, or null when incomplete. */
function serverFrame(data: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (data.length < 2) return null;
  const opcode = data[0]! & 0x0f;
  let length = data[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return null;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return null;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  if (data.length < offset + length) return null;
  return { opcode, payload: data.subarray(offset, offset + length), size: offset + length };
}

/** One client→server text frame (clients must mask). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('maskedTextFrame: payload too long for this helper');
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}
