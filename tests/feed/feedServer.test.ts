// The feed server over real sockets: hello, replay then live, filters, bad messages, token, subprotocol, heartbeat, files.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FeedConfigError, startFeed } from '../../src/feed/feedServer.js';
import type { FeedServer } from '../../src/feed/feedServer.js';
import { DASHBOARD_PATHS } from '../../src/feed/dashboardFiles.js';
import { EVENT_SCHEMA_VERSION } from '../../src/streams/events.js';
import { FEED_PROTOCOL, protocolJsonSchemaText } from '../../src/feed/protocol.js';
import { RecordingClient, coverage, logEvents, removeTempDirs, syntheticFeed } from './helpers.js';

const servers: FeedServer[] = [];
const clients: RecordingClient[] = [];

function client(url: string, options?: ConstructorParameters<typeof RecordingClient>[1]): RecordingClient {
  const c = new RecordingClient(url, options);
  clients.push(c);
  return c;
}

async function feedFor(...args: Parameters<typeof syntheticFeed>) {
  const result = await syntheticFeed(...args);
  servers.push(result.feed);
  return result;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  removeTempDirs();
});

function get(url: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Opens a raw websocket and reports how the handshake ended (the HTTP status of a refusal, or 101). */
function handshake(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options.protocols ?? [FEED_PROTOCOL], { headers: options.headers ?? {} });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

describe('hello', () => {
  it('greets a new client with the run id, schema version and the current seq and step', async () => {
    // Arrange
    const { run, feed } = await feedFor({ steps: 1 });
    await run.run();
    // Act
    const c = client(feed.wsUrl);
    const hello = await c.nth('hello');
    // Assert
    expect(c.ws.protocol).toBe(FEED_PROTOCOL);
    expect(hello).toMatchObject({
      protocol: FEED_PROTOCOL,
      schemaVersion: EVENT_SCHEMA_VERSION,
      runId: 'synthetic',
      source: 'live',
      nextSeq: run.bus.nextSeq,
      step: 1,
      finished: true,
      scenario: { name: 'synthetic', mode: 'sync', seed: 1, steps: 1, backend: 'none' },
    });
    expect(c.messages[0]?.op).toBe('hello');
    expect(c.invalid).toEqual([]);
  });
});

describe('subscribe', () => {
  it.each([
    ['all in memory', {}],
    ['file, then memory', { recentEvents: 600 }],
    ['file, flushLog, then memory', { recentEvents: 40, flush: true }],
  ])('replays from a seq then goes live with no gap and no duplicate (%s)', async (_name, variant) => {
    // Arrange: the run is emitting while the client subscribes and replays.
    const { run, feed } = await feedFor(
      { steps: 6 },
      {
        ...('recentEvents' in variant ? { recentEvents: variant.recentEvents } : {}),
        ...('flush' in variant ? { flushLog: () => run.log.flush() } : {}),
      },
    );
    let stepped!: () => void;
    const fourSteps = new Promise<void>((resolve) => (stepped = resolve));
    const running = run.run((step) => step === 4 && stepped());
    await fourSteps;
    // Act
    const c = client(feed.wsUrl);
    await c.nth('hello');
    c.send({ op: 'subscribe', fromSeq: 5 });
    const subscribed = await c.nth('subscribed');
    await running;
    await c.until(() => c.events().some((e) => e.type === 'run.finished'), 'run.finished');
    // Assert
    expect(subscribed).toEqual({ op: 'subscribed', fromSeq: 5, types: null });
    const logged = logEvents(run.logPath);
    expect(c.events()).toEqual(logged.slice(5));
    expect(c.ofOp('gap')).toEqual([]);
    expect(c.invalid).toEqual([]);
  });

  it('announces what it cannot find as an "unavailable" gap when memory is smaller than the log buffer', async () => {
    // Arrange: 20 events of memory, a 64 KiB log buffer, and no flushLog: some seqs are in neither place.
    const { run, feed } = await feedFor({ steps: 4 }, { recentEvents: 20 });
    let stepped!: () => void;
    const oneStep = new Promise<void>((resolve) => (stepped = resolve));
    const running = run.run((step) => step === 1 && stepped());
    await oneStep;
    // Act
    const c = client(feed.wsUrl);
    c.send({ op: 'subscribe', fromSeq: 0 });
    await running;
    await c.until(() => c.events().some((e) => e.type === 'run.finished'), 'run.finished');
    // Assert: every seq delivered or announced, in order, once.
    const cov = coverage(c.messages, 0);
    expect(cov).toMatchObject({ next: run.bus.nextSeq, duplicates: 0, outOfOrder: 0 });
    for (const gap of c.ofOp('gap')) expect(gap.reason).toBe('unavailable');
    const logged = new Map(logEvents(run.logPath).map((e) => [e.seq, e]));
    for (const e of c.events()) expect(e).toEqual(logged.get(e.seq));
  });

  it('starts live at the current seq when fromSeq is omitted', async () => {
    // Arrange
    const { run, feed } = await feedFor({ steps: 2 });
    const c = client(feed.wsUrl);
    await c.nth('hello');
    c.send({ op: 'subscribe' });
    await c.nth('subscribed');
    // Act
    await run.run();
    await c.until(() => c.events().some((e) => e.type === 'run.finished'), 'run.finished');
    // Assert
    expect(c.events()).toEqual(logEvents(run.logPath));
  });

  it('delivers only the subscribed types and channels', async () => {
    // Arrange
    const { run, feed } = await feedFor({ steps: 3, baseSteps: 4 });
    await run.run();
    const c = client(feed.wsUrl);
    // Act
    c.send({ op: 'subscribe', fromSeq: 0, types: ['learner.step'], channels: ['run'] });
    const subscribed = await c.nth('subscribed');
    await c.until(() => c.events().some((e) => e.type === 'run.finished'), 'run.finished');
    // Assert
    const wanted = new Set([
      'learner.step',
      'base.progress',
      'run.started',
      'run.finished',
      'step.finished',
      'checkpoint.saved',
    ]);
    expect(new Set(subscribed.types)).toEqual(wanted);
    expect(c.events()).toEqual(logEvents(run.logPath).filter((e) => wanted.has(e.type)));
  });

  it('replaces the subscription when the client subscribes again', async () => {
    // Arrange
    const { run, feed } = await feedFor({ steps: 2 });
    await run.run();
    const c = client(feed.wsUrl);
    c.send({ op: 'subscribe', fromSeq: 0, types: ['health'] });
    await c.until(() => c.events().length === 2, 'two health events');
    // Act
    c.send({ op: 'subscribe', fromSeq: 0, types: ['run.finished'] });
    await c.until(() => c.events().some((e) => e.type === 'run.finished'), 'run.finished');
    // Assert
    expect(c.events().map((e) => e.type)).toEqual(['health', 'health', 'run.finished']);
  });
});

describe('bad client messages', () => {
  it('answers garbage with an error and keeps the connection', async () => {
    // Arrange
    const { run, feed } = await feedFor({ steps: 1 });
    await run.run();
    const c = client(feed.wsUrl);
    await c.nth('hello');
    // Act
    c.send('this is not json');
    c.send({ nope: 1 });
    c.send({ op: 'unsubscribe' });
    c.send({ op: 'subscribe', fromSeq: -1 });
    c.send({ op: 'subscribe', types: ['no.such.type'] });
    c.send({ op: 'subscribe', extra: true });
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const errors = await c.nth('error', 7);
    c.send({ op: 'subscribe', fromSeq: 0, types: ['run.finished'] });
    await c.until(() => c.events().length === 1, 'the finished event');
    // Assert
    const messages = c.ofOp('error').map((e) => e.message);
    expect(messages[0]).toMatch(/not JSON/);
    expect(messages[1]).toMatch(/op missing/);
    expect(messages[2]).toMatch(/unsubscribe/);
    expect(messages[3]).toMatch(/fromSeq/);
    expect(messages[4]).toMatch(/types/);
    expect(messages[5]).toMatch(/extra/);
    expect(errors.message).toMatch(/binary/);
    expect(c.closed).toBeNull();
    expect(c.events()[0]?.type).toBe('run.finished');
  });

  it('refuses an oversized message by closing with 1009', async () => {
    // Arrange
    const { feed } = await feedFor({ steps: 1 }, { maxPayload: 1024 });
    const c = client(feed.wsUrl);
    const hello = await c.nth('hello');
    // Act
    c.send({ op: 'subscribe', types: Array.from({ length: 200 }, () => 'health') });
    const closed = await c.closedWith();
    // Assert
    expect(hello.limits.maxPayload).toBe(1024);
    expect(closed.code).toBe(1009);
  });

  it('refuses a client that does not offer the azr.v1 subprotocol', async () => {
    const { feed } = await feedFor({ steps: 1 });
    expect(await handshake(feed.wsUrl, { protocols: [] })).toBe(400);
    expect(await handshake(feed.wsUrl, { protocols: ['azr.v2'] })).toBe(400);
    expect(await handshake(feed.wsUrl, { protocols: ['azr.v2', FEED_PROTOCOL] })).toBe(101);
  });

  it('refuses a browser origin other than the page itself, and a non-loopback Host without a token (DNS rebinding)', async () => {
    const { feed } = await feedFor({ steps: 1 });
    expect(await handshake(feed.wsUrl, { headers: { Origin: 'http://evil.example' } })).toBe(403);
    expect(await handshake(feed.wsUrl, { headers: { Origin: feed.url.replace(/\/$/, '') } })).toBe(101);
    const rebound = `rebound.example:${feed.port}`;
    expect(await handshake(feed.wsUrl, { headers: { Host: rebound, Origin: `http://${rebound}` } })).toBe(403);
    expect(await handshake(feed.wsUrl, { headers: { Host: `localhost:${feed.port}` } })).toBe(101);
  });
});

describe('token', () => {
  it('is required to listen beyond loopback', async () => {
    const { run } = await feedFor({ steps: 1 });
    await expect(
      startFeed({ bus: run.bus, logPath: run.logPath, runId: 'x', host: '0.0.0.0', port: 0 }),
    ).rejects.toThrow(FeedConfigError);
    await expect(
      startFeed({ bus: run.bus, logPath: run.logPath, runId: 'x', host: '0.0.0.0', port: 0, token: '' }),
    ).rejects.toThrow(/--token/);
  });

  it('is checked on connect: Authorization Bearer or ?token=', async () => {
    // Arrange
    const { feed } = await feedFor({ steps: 1 }, { host: '0.0.0.0', token: 's3cret' });
    const url = `ws://127.0.0.1:${feed.port}/`;
    // Act + Assert
    expect(await handshake(url)).toBe(401);
    expect(await handshake(url, { headers: { Authorization: 'Bearer wrong' } })).toBe(401);
    expect(await handshake(`${url}?token=wrong`)).toBe(401);
    expect(await handshake(url, { headers: { Authorization: 'Bearer s3cret' } })).toBe(101);
    const c = client(`${url}?token=s3cret`);
    expect((await c.nth('hello')).runId).toBe('synthetic');
  });
});

describe('heartbeat', () => {
  it('terminates a peer that stops answering pings and keeps one that answers', async () => {
    // Arrange
    const { feed } = await feedFor({ steps: 1 }, { heartbeatMs: 50 });
    const silent = client(feed.wsUrl, { autoPong: false });
    const healthy = client(feed.wsUrl);
    await silent.nth('hello');
    await healthy.nth('hello');
    // Act
    const closed = await silent.closedWith();
    // Assert
    expect(closed.code).toBe(1006);
    expect(feed.stats().terminatedUnresponsive).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(healthy.closed).toBeNull();
  });
});

describe('dashboard files', () => {
  it('serves the page, its script, uPlot and the protocol schema on the feed port', async () => {
    const { feed } = await feedFor({ steps: 1 });
    const page = await get(feed.url);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect(page.body).toContain('dashboard.js');
    for (const path of DASHBOARD_PATHS) expect((await get(new URL(path, feed.url).href)).status, path).toBe(200);
    expect((await get(new URL('/vendor/uPlot.esm.js', feed.url).href)).body).toContain('uPlot');
    expect((await get(new URL('/protocol.schema.json', feed.url).href)).body).toBe(protocolJsonSchemaText());
    expect((await get(new URL('/../package.json', feed.url).href)).status).toBe(404);
    expect((await get(new URL('/nope', feed.url).href)).status).toBe(404);
    expect((await get(new URL('/vendor/zod/v4/core/index.js', feed.url).href)).status).toBe(200);
    expect((await get(new URL('/vendor/zod/package.json', feed.url).href)).status).toBe(404);
    expect((await get(`${feed.url}vendor/zod/%2e%2e/uplot/package.js`)).status).toBe(404);
    expect((await get(new URL('/vendor/zod/v4/nope.js', feed.url).href)).status).toBe(404);
  });
});
