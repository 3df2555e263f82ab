// The dashboard in headless Chromium watching a real run: `node bin/azr.js run scenarios/tiny.yaml --port 0` as a
// child process, exactly as a user starts it. The page opens while the run is going, its charts receive points and
// the proposals table fills; then the user stops the run with Ctrl-C (SIGINT), and once it exits the page holds the
// whole log (every rollout once, no gap). The run is given far more steps than the test waits for, so it cannot end
// before the page connects however slow the machine is (a 4-step run could, on a loaded CI machine).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { REAL_RUN_CACHE, TINY_SCENARIO, logEvents, removeTempDirs, tempDir } from './helpers.js';

// Page-side functions run in the browser; this project's TypeScript has no DOM lib, so declare what they touch.
declare const document: {
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const window: {
  azrDashboard: { state: { nextSeq: number; gaps: number; rewards: Map<number, Map<string, [number, number]>> } };
};

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

noteSkipped('dashboard browser test (real run)');

/** Far more self-play steps than the page needs to see (each takes well under a second here); Ctrl-C ends the run. */
const STEPS = 500;

let browser: Browser | null = null;
let child: ChildProcess | null = null;

afterAll(async () => {
  if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await browser?.close();
  removeTempDirs();
});

describe('dashboard in a browser, real run', () => {
  it.runIf(requireBrowser && !haveChromium)('requires Chromium when AZR_REQUIRE_BROWSER=1', () => {
    expect.fail(`AZR_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install -y chromium`);
  });

  it.runIf(haveChromium)(
    'shows a running `azr run scenarios/tiny.yaml`: charts receive points, the proposals table fills, a Ctrl-C stop arrives',
    async () => {
      // Arrange: the browser first, then the run, so the page opens as soon as the run prints its address.
      browser = await launchChromium();
      const { page, problems } = await dashboardPage(browser);
      const out = tempDir();
      const run = spawn(
        process.execPath,
        [
          'bin/azr.js',
          'run',
          TINY_SCENARIO,
          '--out',
          out,
          '--port',
          '0',
          '--set',
          `run.cacheDir=${REAL_RUN_CACHE}`,
          '--set',
          `selfPlay.steps=${STEPS}`,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = run;
      let stderr = '';
      run.stdout!.resume();
      const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        run.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /live feed and dashboard at (http:\/\/\S+)/.exec(stderr);
          if (m !== null) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`azr run exited (${code}) before starting the feed:\n${stderr}`)));
      });

      // Act: watch the run live.
      await page.goto(url);
      await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] === 'live', undefined, {
        timeout: 30_000,
      });
      const runningWhenLive = run.exitCode === null;
      for (const chart of CHARTS)
        await page.waitForFunction(
          (id) => Number(document.getElementById(`chart-${id}`)?.dataset['points'] ?? 0) > 1,
          chart,
          { timeout: 60_000 },
        );
      await page.waitForFunction(() => document.querySelectorAll('#proposals tr').length >= 5, undefined, {
        timeout: 60_000,
      });
      await page.waitForFunction(() => document.querySelectorAll('#actors tr').length >= 3, undefined, {
        timeout: 60_000,
      });
      const validation = await page.evaluate(() => document.getElementById('foot')?.dataset['validation']);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}dashboard-real-run.png`, fullPage: true });
      const runningWhenSeen = run.exitCode === null;
      run.kill('SIGINT');
      const code = await exited;
      const runDir = readdirSync(out)
        .filter((n) => n.startsWith('tiny-'))
        .map((n) => join(out, n))[0]!;
      const events = logEvents(join(runDir, 'events.jsonl'));
      // The run's last events (run.finished) reach the page before the feed shuts down with the run.
      await page.waitForFunction((n) => window.azrDashboard.state.nextSeq === n, events.length, { timeout: 10_000 });
      await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] === 'finished', undefined, {
        timeout: 10_000,
      });
      await page.screenshot({ path: `${ARTIFACTS}dashboard-real-run-finished.png`, fullPage: true });

      // Assert
      expect(code, stderr).toBe(0);
      expect(events.at(-1)).toMatchObject({ type: 'run.finished', reason: 'interrupted' });
      expect((events.at(-1) as { steps: number }).steps).toBeLessThan(STEPS);
      expect(runningWhenLive).toBe(true);
      expect(runningWhenSeen).toBe(true);
      const counted = await page.evaluate(() => {
        const s = window.azrDashboard.state;
        let n = 0;
        for (const groups of s.rewards.values()) for (const [, count] of groups.values()) n += count;
        return { n, gaps: s.gaps };
      });
      expect(counted).toEqual({ n: events.filter((e) => e.type === 'rollout.scored').length, gaps: 0 });
      // Newest first: the top row is the run's last proposal.
      const lastProposal = events.filter((e) => e.type === 'proposal.validated').at(-1) as
        { program: string } | undefined;
      expect(await page.locator('#proposals tr').first().locator('pre').textContent()).toBe(lastProposal?.program);
      expect(validation).toBe('zod');
      expect(problems).toEqual([]);
    },
    120_000,
  );
});
