// The feed while `azr run` builds its base model (runSelfPlay, which `azr run` calls, with the real feed on port 0,
// on tiny.yaml with an empty cache; a wrapper around startFeed connects a client before the build begins): the feed is up before the build starts, so a client that connects then sees the
// build's base.progress events arrive live, then run.started, then the whole run, each seq once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runSelfPlay } from '../../src/run/runner.js';
import type { StartFeed } from '../../src/run/runner.js';
import { startFeed } from '../../src/feed/feedServer.js';
import { FEED_PROTOCOL } from '../../src/feed/protocol.js';
import { loadRunScenario, parseOverride } from '../../src/config/load.js';
import { RecordingClient, TINY_SCENARIO, closeAfterEach, tempDir } from './helpers.js';

const closers = closeAfterEach();

describe('the feed during the base-model build', () => {
  it('is up before the build: a client connected then gets base.progress live, then the run, every seq once', async () => {
    // Arrange: an empty cache, so the run builds its base; a client connects inside the feed's start
    const cache = tempDir();
    const scenario = await loadRunScenario(TINY_SCENARIO, [parseOverride(`run.cacheDir=${cache}`)]);
    let client: RecordingClient | null = null;
    let cacheAtFeedStart: string[] | null = null;
    const start: StartFeed = async (options) => {
      const f = await startFeed(options);
      cacheAtFeedStart = readdirSync(cache);
      const c = new RecordingClient(f.wsUrl, { protocols: [FEED_PROTOCOL] });
      client = c;
      closers.push(() => c.ws.terminate());
      await c.nth('hello');
      c.send({ op: 'subscribe', fromSeq: 0 });
      await c.nth('subscribed');
      return { url: f.url, close: () => f.close() };
    };
    let stderr = '';
    const err = new PassThrough().on('data', (d: Buffer) => (stderr += d.toString()));

    // Act
    const outcome = await runSelfPlay({
      scenario,
      out: tempDir(),
      stderr: err,
      stdout: new PassThrough().resume(),
      tty: false,
      signals: false,
      feed: { start, host: '127.0.0.1', port: 0 },
    });

    // Assert
    expect(outcome, stderr).toMatchObject({ reason: 'completed', steps: 4 });
    expect(cacheAtFeedStart).toEqual([]); // nothing built yet when the feed was up
    expect(stderr.indexOf('azr run: live feed and dashboard at')).toBeLessThan(
      stderr.indexOf('azr run: building the base model'),
    );
    const c = client!;
    const hello = await c.nth('hello');
    expect(hello).toMatchObject({ source: 'live', nextSeq: 0, scenario: null });
    await c.until(() => c.closed !== null, 'the feed to close');
    const log = readFileSync(join(outcome.runDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; type: string });
    const got = c.events();
    expect(got.map((e) => e.seq)).toEqual(log.map((e) => e.seq));
    const started = got.findIndex((e) => e.type === 'run.started');
    expect(started).toBeGreaterThan(2);
    expect(new Set(got.slice(0, started).map((e) => e.type))).toEqual(new Set(['base.progress']));
    expect(got[started - 1]).toMatchObject({ type: 'base.progress', state: 'built', trainStep: 30 });
    expect(got.at(-1)).toMatchObject({ type: 'run.finished', reason: 'completed' });
    expect(existsSync(join(outcome.runDir, 'scenario.yaml'))).toBe(true);
  }, 120_000);
});
