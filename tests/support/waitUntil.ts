// The tests' one way to wait for something that happens in its own time (a child's output, a server's counters, a
// worker's progress): check it every so often, and fail naming what was awaited instead of hanging until the test's
// own timeout. Where there is an event or a promise to await, await that instead; this is for state one can only look at.

/** What a check returns while the condition does not hold yet. */
export type NotYet = false | null | undefined;

export interface PollOptions {
  /** Give up after this long (wall clock). Default 30 s; `Infinity` for no limit of its own. */
  timeoutMs?: number;
  /** Pause between two checks. Default 50 ms. */
  intervalMs?: number;
}

export interface WaitOptions extends PollOptions {
  /** What is awaited, for the error: `timed out after 30000 ms waiting for WHAT`. */
  what: string;
  /** More for the error (a child's stderr, the state seen), computed when the wait fails. */
  detail?: () => string;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `check` until it returns something other than false, null or undefined, and resolves with that; resolves
 * with undefined when `timeoutMs` has passed first. A check that throws (or rejects) ends the wait with its error.
 */
export async function pollUntil<R>(
  check: () => R | Promise<R>,
  { timeoutMs = 30_000, intervalMs = 50 }: PollOptions = {},
): Promise<Exclude<R, NotYet> | undefined> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value !== false && value !== null && value !== undefined) return value as Exclude<R, NotYet>;
    if (Date.now() - start >= timeoutMs) return undefined;
    await pause(intervalMs);
  }
}

/**
 * Like {@link pollUntil}, but time running out is an error that says what was awaited.
 *
 * @example
 * const url = await waitUntil(() => /feed (ws:\/\/\S+)/.exec(child.out.stderr)?.[1], {
 *   what: 'the feed address',
 *   detail: () => `stderr:\n${child.out.stderr}`,
 * });
 */
export async function waitUntil<R>(check: () => R | Promise<R>, options: WaitOptions): Promise<Exclude<R, NotYet>> {
  const value = await pollUntil(check, options);
  if (value !== undefined) return value;
  const { what, timeoutMs = 30_000, detail } = options;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail === undefined ? '' : `; ${detail()}`}`);
}
