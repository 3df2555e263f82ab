// `azr replay RUN_DIR`: a finished run's events over the same protocol, for the dashboard and `watch` after the fact.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { FeedServer } from '../../src/feed/feedServer.js';
import { replayCommand } from '../../src/feed/replayCommand.js';
import { createSyntheticRun } from '../support/syntheticRun.js';
import { FEED_PROTOCOL } from '../../src/feed/protocol.js';
import { RecordingClient, logEvents, removeTempDirs, tempDir } from './helpers.js';

const clients: RecordingClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  removeTempDirs();
});

function sink() {
  const chunks: string[] = [];
  return { write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

/** Starts `azr replay` on a free port; resolves once it listens. */
async function serve(runDir: string, options: { token?: string } = {}) {
  const stop = new AbortController();
  const out = sink();
  let listening!: (feed: FeedServer) => void;
  const listens = new Promise<FeedServer>((resolve) => (listening = resolve));
  const exit = replayCommand(runDir, { port: 0, out, signal: stop.signal, onListening: listening, ...options });
  const exitsFirst = exit.then((code): never => {
    throw new Error(`replay exited with ${code}: ${out.text()}`);
  });
  const feed = await Promise.race([listens, exitsFirst]);
  return { feed, stop: () => stop.abort(), exit, out };
}

describe('azr replay', () => {
  it('serves a finished run directory: hello says replay and finished (scenario from run.started, after the base build), a subscriber gets the whole log', async () => {
    // Arrange
    const dir = tempDir();
    const run = createSyntheticRun({ dir, runId: 'tiny-20250101', steps: 3, baseSteps: 5 });
    await run.run();
    const { feed, stop, exit, out } = await serve(dir);
    const c = new RecordingClient(feed.wsUrl);
    clients.push(c);
    // Act
    const hello = await c.nth('hello');
    c.send({ op: 'subscribe', fromSeq: 0 });
    await c.until(() => c.events().length === hello.nextSeq, 'every event');
    const fromMiddle = new RecordingClient(feed.wsUrl);
    clients.push(fromMiddle);
    fromMiddle.send({ op: 'subscribe', fromSeq: 100, types: ['health', 'run.finished'] });
    await fromMiddle.until(() => fromMiddle.events().some((e) => e.type === 'run.finished'), 'run.finished');
    stop();
    // Assert
    const logged = logEvents(run.logPath);
    expect(hello).toMatchObject({
      runId: 'tiny-20250101',
      source: 'replay',
      finished: true,
      nextSeq: logged.length,
      step: 3,
    });
    expect(hello.scenario).toMatchObject({ name: 'synthetic', steps: 3 });
    expect(c.events()).toEqual(logged);
    expect(logged[0]).toMatchObject({ type: 'base.progress', state: 'building', trainStep: 0 });
    expect(fromMiddle.events()).toEqual(
      logged.filter((e) => e.seq >= 100 && (e.type === 'health' || e.type === 'run.finished')),
    );
    expect(await exit).toBe(0);
    expect(out.text()).toContain(`dashboard ${feed.url}`);
  });

  it('sends each logged event as its line in events.jsonl, byte for byte', async () => {
    // Arrange: a log whose lines are spaced differently from JSON.stringify (valid JSON all the same)
    const dir = tempDir();
    const run = createSyntheticRun({ dir, steps: 1 });
    await run.run();
    const lines = readFileSync(run.logPath, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.stringify(JSON.parse(l), null, 1).replace(/\n/g, ''));
    writeFileSync(run.logPath, lines.map((l) => l + '\n').join(''));
    const { feed, stop, exit } = await serve(dir);
    // Act: a raw client keeps the frames' text
    const ws = new WebSocket(feed.wsUrl, [FEED_PROTOCOL]);
    let text = '';
    let received = 0;
    const all = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const frame = (data as Buffer).toString('utf8');
        const message = JSON.parse(frame) as { op: string; events?: unknown[] };
        if (message.op === 'hello') ws.send(JSON.stringify({ op: 'subscribe', fromSeq: 0 }));
        if (message.op === 'events') {
          text += frame;
          received += message.events!.length;
        }
        if (received === lines.length) resolve();
      }),
    );
    await all;
    ws.close();
    stop();
    // Assert
    expect(await exit).toBe(0);
    expect(lines.filter((l) => !text.includes(l))).toEqual([]);
    expect(text.startsWith(`{"op":"events","events":[${lines[0]},${lines[1]}`)).toBe(true);
  });

  it('accepts the events.jsonl path itself', async () => {
    const dir = tempDir();
    const run = createSyntheticRun({ dir, steps: 1 });
    await run.run();
    const { feed, stop, exit } = await serve(run.logPath);
    const c = new RecordingClient(feed.wsUrl);
    clients.push(c);
    expect((await c.nth('hello')).source).toBe('replay');
    stop();
    expect(await exit).toBe(0);
  });

  it('exits 1 for a directory without a log, and 2 for a non-loopback host without a token', async () => {
    const out = sink();
    expect(await replayCommand(tempDir(), { port: 0, out, handleSignals: false })).toBe(1);
    expect(out.text()).toMatch(/no such events\.jsonl/);

    const dir = tempDir();
    await createSyntheticRun({ dir, steps: 1 }).run();
    const out2 = sink();
    expect(await replayCommand(dir, { host: '0.0.0.0', port: 0, out: out2, handleSignals: false })).toBe(2);
    expect(out2.text()).toMatch(/--token/);
  });
});
