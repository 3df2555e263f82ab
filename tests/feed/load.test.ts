// Load: 50 reading clients and one that never reads during a synthetic run; the run never waits, memory stays bounded.
import { afterEach, describe, expect, it } from 'vitest';
import type { FeedServer } from '../../src/feed/feedServer.js';
import { startLoadReaders } from '../support/loadReaders.js';
import { waitUntil } from '../support/waitUntil.js';
import { StalledClient, coverage, removeTempDirs, syntheticFeed } from './helpers.js';

const MAX_QUEUE = 256 * 1024;
const servers: FeedServer[] = [];
const closers: (() => void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  removeTempDirs();
});

describe('load', () => {
  it('50 reading clients and 1 that never reads: the run finishes, readers see every seq or a gap, the stalled one is cut off', async () => {
    // Arrange: enough events (~5 MB) to fill the kernel's socket buffers of the stalled client (about 4 MB on Linux).
    const { run, feed } = await syntheticFeed({ steps: 120 }, { maxQueueBytes: MAX_QUEUE, stallTimeoutMs: 3000 });
    servers.push(feed);
    const readers = startLoadReaders(feed.wsUrl, 50);
    closers.push(() => void readers.close());
    await readers.ready;
    const stalled = new StalledClient(feed.port, { op: 'subscribe', fromSeq: 0 });
    closers.push(() => stalled.destroy());
    await stalled.subscribed;
    // What the server did with the stalled client, sampled until it is gone (it may be cut off before the run ends).
    const stalledId = feed.stats().connectionsTotal;
    let stalledSkipped = 0;
    const sample = setInterval(() => {
      const c = feed.stats().clients.find((x) => x.id === stalledId);
      if (c !== undefined) stalledSkipped = Math.max(stalledSkipped, c.eventsSkipped);
    }, 5);
    closers.push(() => clearInterval(sample));

    // Act: the producer runs to the end without waiting for anyone.
    await run.run();
    const atRunEnd = feed.stats();
    const end = run.bus.nextSeq;
    const seen = await readers.until((r) => r.next === end || r.closed !== null);
    await waitUntil(() => feed.stats().clients.length === 50, {
      what: 'the stalled client to be cut off (50 clients left)',
      timeoutMs: 20_000,
      detail: () =>
        `the stalled client was never cut off: ${JSON.stringify(feed.stats().clients.find((c) => c.id === stalledId))} ` +
        '(if it never skipped, the kernel absorbed more than this run sends: raise steps)',
    });

    // Assert
    for (const r of seen)
      expect(r).toMatchObject({ next: end, duplicates: 0, outOfOrder: 0, closed: null, finished: true });
    const stats = feed.stats();
    const stalledAtRunEnd = atRunEnd.clients.find((c) => c.id === stalledId);
    // The server skipped events for it (gap) before cutting it off.
    expect(Math.max(stalledSkipped, stalledAtRunEnd?.eventsSkipped ?? 0)).toBeGreaterThan(0);
    expect(stats.disconnectedSlow).toBe(1);
    expect(stats.maxClientPendingBytes).toBeLessThanOrEqual(MAX_QUEUE + 64 * 1024);
  });

  it('a client that stops reading and then reads again gets gap messages, then the rest of the run', async () => {
    // Arrange
    const { run, feed } = await syntheticFeed(
      { steps: 120 },
      { maxQueueBytes: MAX_QUEUE, stallTimeoutMs: 60_000, maxKeptEvents: 16 },
    );
    servers.push(feed);
    const slow = new StalledClient(feed.port, { op: 'subscribe', fromSeq: 0 });
    closers.push(() => slow.destroy());
    await slow.subscribed;
    // Act
    await run.run();
    const skipping = feed.stats().clients[0]!;
    const seen = slow.resume();
    const end = run.bus.nextSeq;
    await waitUntil(
      () => {
        if (coverage(seen.messages, 0).next === end) return true;
        if (seen.close !== null) throw new Error(`closed ${seen.close.code}`);
        return false;
      },
      { what: `the client to have read up to seq ${end}`, intervalMs: 20 },
    );
    // Assert
    expect(skipping.skipping).toBe(true);
    expect(skipping.eventsSkipped).toBeGreaterThan(0);
    const gaps = seen.messages.filter((m) => m.op === 'gap');
    expect(gaps.length).toBeGreaterThan(0);
    for (const gap of gaps) expect(gap).toMatchObject({ reason: 'slow-client' });
    const cov = coverage(seen.messages, 0);
    expect(cov).toMatchObject({ next: end, duplicates: 0, outOfOrder: 0 });
    // Milestones survive skipping: the run's last event arrives.
    const last = seen.messages.filter((m) => m.op === 'events').at(-1);
    expect(last?.op === 'events' && last.events.at(-1)?.type).toBe('run.finished');
  });
});
