// The dashboard in headless Chromium against a synthetic live run: charts get points, proposals fill, reconnect resumes.
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  CHARTS,
  CHROMIUM,
  dashboardPage,
  haveChromium,
  launchChromium,
  noteSkipped,
  requireBrowser,
} from './browser.js';
import { startFeed } from '../../src/feed/feedServer.js';
import type { FeedServer } from '../../src/feed/feedServer.js';
import { logEvents, removeTempDirs, syntheticFeed } from './helpers.js';

// Page-side functions run in the browser; this project's TypeScript has no DOM lib, so declare what they touch.
declare const document: {
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const window: {
  azrDashboard: { state: { nextSeq: number; gaps: number; rewards: Map<number, Map<string, [number, number]>> } };
};

noteSkipped('dashboard browser test');

let browser: Browser | null = null;
const servers: FeedServer[] = [];

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.close()));
  removeTempDirs();
});

describe('dashboard in a browser', () => {
  it.runIf(requireBrowser && !haveChromium)('requires Chromium when AZR_REQUIRE_BROWSER=1', () => {
    expect.fail(`AZR_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium`);
  });

  it.runIf(haveChromium)(
    'shows a live run: charts receive points, the proposals table fills, a reconnect resumes from the last seq',
    async () => {
      // Arrange: a paced synthetic run (a few seconds) that starts once the page is open, so the page watches it live.
      let open!: () => void;
      const pageOpen = new Promise<void>((resolve) => (open = resolve));
      const { run, feed } = await syntheticFeed({
        steps: 50,
        baseSteps: 20,
        eventsPerChunk: 24,
        pause: () => pageOpen.then(() => new Promise((resolve) => setTimeout(resolve, 8))),
        probeEvery: 4,
      });
      servers.push(feed);
      const running = run.run();
      browser = await launchChromium();
      const { page, problems } = await dashboardPage(browser);

      // Act
      await page.goto(feed.url);
      await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] === 'live', undefined, {
        timeout: 30_000,
      });
      open();
      for (const chart of CHARTS)
        await page.waitForFunction(
          (id) => Number(document.getElementById(`chart-${id}`)?.dataset['points'] ?? 0) > 1,
          chart,
          { timeout: 30_000 },
        );
      await page.waitForFunction(() => document.querySelectorAll('#proposals tr').length >= 5, undefined, {
        timeout: 30_000,
      });
      await page.waitForFunction(() => document.querySelectorAll('#actors tr').length >= 5, undefined, {
        timeout: 30_000,
      });
      const validation = await page.evaluate(() => document.getElementById('foot')?.dataset['validation']);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
      const liveWhenShot = run.bus.nextSeq > 0 && !logEvents(run.logPath).some((e) => e.type === 'run.finished');

      // The feed goes away and comes back on the same port: the page reconnects and resumes where it was.
      const port = feed.port;
      await feed.close();
      const again = await startFeed({
        bus: run.bus,
        logPath: run.logPath,
        runId: run.runId,
        port,
        flushLog: () => run.log.flush(),
      });
      servers.push(again);
      await running;
      const end = run.bus.nextSeq;
      await page.waitForFunction((n) => window.azrDashboard.state.nextSeq === n, end, { timeout: 30_000 });
      await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] === 'finished', undefined, {
        timeout: 10_000,
      });
      await page.screenshot({ path: `${ARTIFACTS}dashboard-finished.png`, fullPage: true });
      const baseFact = await page.locator('#fact-base').textContent();

      // Assert: every rollout counted exactly once across the reconnect.
      const counted = await page.evaluate(() => {
        const s = window.azrDashboard.state;
        let n = 0;
        for (const groups of s.rewards.values()) for (const [, count] of groups.values()) n += count;
        return { n, gaps: s.gaps };
      });
      expect(counted).toEqual({ n: logEvents(run.logPath).filter((e) => e.type === 'rollout.scored').length, gaps: 0 });
      const rows = await page.locator('#proposals tr').count();
      expect(rows).toBeGreaterThanOrEqual(5);
      expect(await page.locator('#proposals tr').first().locator('pre').textContent()).toContain('function f');
      expect(liveWhenShot).toBe(true);
      expect(baseFact).toBe('built · probe 9.0%'); // the base-model build the run began with
      expect(validation).toBe('zod'); // the page checks every message against the published schema with zod
      expect(problems).toEqual([]);
    },
  );
});
