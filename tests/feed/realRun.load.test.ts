// Load on a real run: `azr run scenarios/tiny.yaml` (in this process, through runSelfPlay, so the feed's own stats
// can be read) with 50 reading clients and one that never reads.
//
// A tiny run logs only ~90 KB of events, and over loopback TCP the kernel takes 1.6–4 MB per connection into its
// socket buffers before the server's own queue holds a byte (measured on Linux; the sender's buffer alone is >1 MB
// even when the reader's receive buffer is tiny). So a client that subscribes once and never reads would never reach
// any server-side bound during a tiny run, whatever the limits. This never-reading client therefore keeps asking for
// the whole log again (`subscribe` from seq 0, a few bytes each, which the server must serve as a replay) until the
// server holds bytes back for it (a replay waits for room once a quarter of the bound is pending, and a replay that
// waits longer than the stall timeout cuts the client off; live events would be skipped past the bound); from then
// on it sends nothing more. The limits are small (64 KiB queue, 1.5 s stall
// timeout) so that the stall and disconnect paths run within the run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runSelfPlay } from '../../src/run/runner.js';
import type { StartFeed } from '../../src/run/runner.js';
import { startFeed } from '../../src/feed/feedServer.js';
import type { FeedClientStats } from '../../src/feed/feedConnection.js';
import type { FeedServer, FeedServerStats } from '../../src/feed/feedServer.js';
import { startLoadReaders } from '../support/loadReaders.js';
import type { LoadReaders } from '../support/loadReaders.js';
import { pollUntil } from '../support/waitUntil.js';
import { loadRunScenario, parseOverride } from '../../src/config/load.js';
import { REAL_RUN_CACHE, StalledClient, TINY_SCENARIO, closeAfterEach, tempDir } from './helpers.js';

const READERS = 50;
const MAX_QUEUE = 64 * 1024;
/** The feed cuts off a client whose pending bytes pass this (SendQueue's hardMaxBytes: 2 × maxQueueBytes). */
const HARD_MAX = 2 * MAX_QUEUE;
const STALL_MS = 1500;
const closers = closeAfterEach();

describe('load on a real tiny run', () => {
  it('50 reading clients and 1 that never reads: the run completes, readers see every seq or a gap up to run.finished, the stalled one is cut off, queues stay bounded', async () => {
    // Arrange: the feed is started by the run (as `azr run --port 0` does) with small limits; the clients connect
    // before the run's first event, so everything they get is live or caught up during the run.
    const scenario = await loadRunScenario(TINY_SCENARIO, [parseOverride(`run.cacheDir=${REAL_RUN_CACHE}`)]);
    const out = tempDir();
    let feed: FeedServer | null = null;
    let readers: LoadReaders | null = null;
    let stalledId = -1;
    let stalledOver: FeedClientStats | 'gone' | null = null;
    let subscribesSent = 0;
    let atRunEnd: FeedServerStats | null = null;
    const start: StartFeed = async (options) => {
      const f = await startFeed({ ...options, maxQueueBytes: MAX_QUEUE, stallTimeoutMs: STALL_MS });
      feed = f;
      closers.push(() => f.close());
      const r = startLoadReaders(f.wsUrl, READERS);
      readers = r;
      closers.push(() => r.close());
      await r.ready;
      const stalled = new StalledClient(f.port, { op: 'subscribe', fromSeq: 0 });
      closers.push(() => stalled.destroy());
      await stalled.subscribed;
      stalledId = f.stats().connectionsTotal;
      const flood = setInterval(() => {
        const s = f.stats().clients.find((c) => c.id === stalledId);
        // Stop once the server is holding back for it: live events skipped, or a replay waiting for room (which
        // arms the stall timer). A client merely over a quarter of the bound while live may never pass the bound
        // if the run ends first, so keep asking until a replay has to wait.
        if (s === undefined || s.skipping || (s.state === 'catching-up' && s.pendingBytes > MAX_QUEUE / 4)) {
          stalledOver = s ?? 'gone';
          clearInterval(flood);
          return;
        }
        stalled.send({ op: 'subscribe', fromSeq: 0 });
        subscribesSent += 1;
      }, 5);
      closers.push(() => clearInterval(flood));
      return {
        url: f.url,
        close: async () => {
          atRunEnd = f.stats();
          // The run is over (run.finished is out). Before the shutdown closes everyone with 1001, leave the stalled
          // client's fate (its stall timer) a bounded time to play out: a tiny run may end first.
          await pollUntil(() => f.stats().disconnectedSlow > 0, { timeoutMs: STALL_MS + 5000, intervalMs: 20 });
          await f.close();
        },
      };
    };
    let stderr = '';
    const err = new PassThrough().on('data', (d: Buffer) => (stderr += d.toString()));
    const stdout = new PassThrough().resume();

    // Act: the whole run; its end closes the feed (1001), as `azr run` does.
    const outcome = await runSelfPlay({
      scenario,
      out,
      stderr: err,
      stdout,
      tty: false,
      signals: false,
      feed: { start, host: '127.0.0.1', port: 0 },
    });
    const end = readFileSync(join(outcome.runDir, 'events.jsonl'), 'utf8').trim().split('\n').length;
    const seen = await readers!.until((r) => r.closed !== null);
    const stats = feed!.stats();

    // Assert: the run completed (`azr run` exits 0 on this outcome).
    expect(outcome, stderr).toMatchObject({ reason: 'completed', steps: 4 });
    expect(stderr).toContain('azr run: live feed and dashboard at http://127.0.0.1:');
    // Every reader saw each seq once, in order, up to run.finished, and was closed by the feed's shutdown.
    for (const r of seen)
      expect(r).toMatchObject({ next: end, duplicates: 0, outOfOrder: 0, finished: true, closed: 1001 });
    // The never-reading client was held back during the run, and cut off for not reading (close 4008), not by the
    // shutdown.
    expect(
      stalledOver,
      `the server never held bytes back for the stalled client after ${subscribesSent} subscribes`,
    ).not.toBeNull();
    expect(stats.disconnectedSlow, JSON.stringify(atRunEnd!.clients.find((c) => c.id === stalledId))).toBe(1);
    // Server-side queues stayed bounded: events are queued only within maxQueueBytes; control messages (never
    // dropped) past hardMaxBytes cut the client off, so nothing ever held more than that plus the one message that
    // crossed it. The readers never came near the bound. (That the stalled client reached the bound is what
    // `stalledOver` above says: a live batch can be larger than the whole queue, so skipping may start while the
    // server-wide maximum of pending bytes is still under a quarter of it; that maximum is no lower bound.)
    expect(stats.maxClientPendingBytes).toBeLessThanOrEqual(HARD_MAX + 1024);
    expect(
      Math.max(...atRunEnd!.clients.filter((c) => c.id !== stalledId).map((c) => c.maxPendingBytes)),
    ).toBeLessThanOrEqual(MAX_QUEUE);
    expect(stats.connectionsTotal).toBe(READERS + 1);
  }, 120_000);
});
