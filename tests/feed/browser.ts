// What the dashboard's browser tests share: Debian's Chromium (never a downloaded browser), the skip/require rule,
// and a dashboard page whose errors are collected.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
export const haveChromium = existsSync(CHROMIUM);
/** CI sets AZR_REQUIRE_BROWSER=1: a missing Chromium is then a failure, not a skip. */
export const requireBrowser = process.env['AZR_REQUIRE_BROWSER'] === '1';
/** The dashboard's charts, by the id suffix of their `chart-…` element. */
export const CHARTS = ['rewards', 'valid', 'learnability', 'probe', 'reasoning', 'learner', 'phases', 'queues'];

/** Warns once per test file that its browser test is skipped, and how to get Chromium. */
export function noteSkipped(what: string): void {
  if (!haveChromium && !requireBrowser)
    console.warn(`${what} skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);
}

/** Headless Chromium with the flags this closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** A dashboard-sized page; `problems` collects page errors and console errors (and zod's "invalid" reports). */
export async function dashboardPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1500 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.text().includes('invalid')) problems.push(message.text());
  });
  return { page, problems };
}
