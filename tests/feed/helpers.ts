// Test helpers for the feed: a synthetic run with a real server on 127.0.0.1:0, and raw ws clients that record messages.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { startFeed } from '../../src/feed/feedServer.js';
import type { FeedOptions, FeedServer } from '../../src/feed/feedServer.js';
import { FEED_PROTOCOL, ServerMessageSchema } from '../../src/feed/protocol.js';
import type { ServerMessage } from '../../src/feed/protocol.js';
import { createSyntheticRun } from '../support/syntheticRun.js';
export { StalledClient } from '../support/loadReaders.js';
import type { SyntheticRun, SyntheticRunOptions } from '../support/syntheticRun.js';
import type { RunEvent } from '../../src/streams/events.js';

const dirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'azr-feed-'));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Registers an afterEach that runs the returned list's closers (last added first, each awaited), then removes the
 * temporary directories. Call once at the top of a test file.
 */
export function closeAfterEach(): (() => unknown)[] {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    removeTempDirs();
  });
  return closers;
}

/** A synthetic run (not started) with a live feed on an ephemeral loopback port. */
export async function syntheticFeed(
  run: Partial<SyntheticRunOptions> = {},
  feed: Partial<FeedOptions> = {},
): Promise<{ run: SyntheticRun; feed: FeedServer }> {
  const r = createSyntheticRun({ dir: tempDir(), steps: 3, ...run });
  const f = await startFeed({ bus: r.bus, logPath: r.logPath, runId: r.runId, port: 0, ...feed });
  return { run: r, feed: f };
}

/** The events in a log file, as parsed JSON. */
export function logEvents(path: string): RunEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RunEvent);
}

/** A raw ws client that records every message (validated with the protocol schema unless `validate` is false). */
export class RecordingClient {
  readonly messages: ServerMessage[] = [];
  readonly invalid: string[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly ws: WebSocket;
  private waiters: (() => void)[] = [];

  constructor(url: string, options: ClientOptions & { protocols?: string[]; validate?: boolean } = {}) {
    const { protocols = [FEED_PROTOCOL], validate = true, ...rest } = options;
    this.ws = new WebSocket(url, protocols, rest);
    this.ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      if (validate) {
        const parsed = ServerMessageSchema.safeParse(JSON.parse(text));
        if (parsed.success) this.messages.push(parsed.data);
        else this.invalid.push(text);
      } else {
        this.messages.push(JSON.parse(text) as ServerMessage);
      }
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('error', () => this.wake());
  }

  /** Sends now, or once the connection is open (in call order). */
  send(value: unknown): void {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.once('open', () => this.ws.send(text));
    else this.ws.send(text);
  }

  /** Resolves when `predicate` holds (checked after every message and on close). */
  async until(predicate: () => boolean, what = 'condition'): Promise<void> {
    while (!predicate()) {
      if (this.closed !== null)
        throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits for the n-th message of an op (1-based) and returns it. */
  async nth<K extends ServerMessage['op']>(op: K, n = 1): Promise<Extract<ServerMessage, { op: K }>> {
    await this.until(() => this.ofOp(op).length >= n, `${op} #${n}`);
    return this.ofOp(op)[n - 1]!;
  }

  ofOp<K extends ServerMessage['op']>(op: K): Extract<ServerMessage, { op: K }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { op: K }> => m.op === op);
  }

  /** Every event received, in arrival order. */
  events(): RunEvent[] {
    return this.ofOp('events').flatMap((m) => m.events);
  }

  async closedWith(): Promise<{ code: number; reason: string }> {
    while (this.closed === null) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Checks that, in arrival order, every seq from `from` to `to` is either in an events message or inside a gap, each once. */
export function coverage(
  messages: readonly ServerMessage[],
  from: number,
): { next: number; gaps: number; duplicates: number; outOfOrder: number } {
  let next = from;
  let gaps = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const m of messages) {
    if (m.op === 'events') {
      for (const e of m.events) {
        if (e.seq < next) duplicates += 1;
        else if (e.seq > next) outOfOrder += 1;
        next = Math.max(next, e.seq + 1);
      }
    } else if (m.op === 'gap') {
      gaps += 1;
      if (m.fromSeq !== next) outOfOrder += 1;
      next = Math.max(next, m.toSeq + 1);
    }
  }
  return { next, gaps, duplicates, outOfOrder };
}

/** scenarios/tiny.yaml, the scenario of the real-run tests. */
export const TINY_SCENARIO = fileURLToPath(new URL('../../scenarios/tiny.yaml', import.meta.url));

/**
 * Where the real-run tests of the feed cache the tiny base model (`run.cacheDir`): shared by the test files and
 * kept between test runs, so it is built once. Entries are keyed by everything the weights depend on, and a build
 * renames into place (a concurrent build by another file is harmless).
 */
export const REAL_RUN_CACHE = join(tmpdir(), 'azr-feed-tests-cache');
