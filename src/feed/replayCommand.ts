// `azr replay RUN_DIR`: serves a finished run's events.jsonl over the feed protocol, so the dashboard and `watch` work after the fact.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FeedConfigError, startReplayFeed } from './feedServer.js';
import type { FeedServer } from './feedServer.js';
import { DEFAULT_FEED_PORT } from './protocol.js';
import type { TextOut } from './watchCommand.js';

export interface ReplayOptions {
  /** `--host`; default 127.0.0.1 (anything else requires `token`). */
  host?: string;
  /** `--port`; default {@link DEFAULT_FEED_PORT}; 0 picks a free one. */
  port?: number;
  /** `--token`. */
  token?: string;
  /** Where the address and the closing line go; default process.stderr. */
  out?: TextOut;
  /** Called once the server listens (tests, or a caller that opens a browser). */
  onListening?: (feed: FeedServer) => void;
  /** Stops serving (exit code 0). */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM. Default true when no `signal` is given. */
  handleSignals?: boolean;
}

/** The events.jsonl of a run directory (or the file itself). */
export function runLogPath(runDir: string): string {
  return existsSync(runDir) && statSync(runDir).isDirectory() ? join(runDir, 'events.jsonl') : runDir;
}

/**
 * Runs `azr replay RUN_DIR`: serves the run's events (replayed from the log for every client that subscribes)
 * and its dashboard until stopped.
 * @returns the exit code: 0 after serving, 1 when the run cannot be read or the port not opened, 2 for bad options.
 */
export async function replayCommand(runDir: string, options: ReplayOptions = {}): Promise<number> {
  const out = options.out ?? process.stderr;
  const logPath = runLogPath(runDir);
  let feed: FeedServer;
  try {
    feed = await startReplayFeed({
      logPath,
      port: options.port ?? DEFAULT_FEED_PORT,
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    });
  } catch (error) {
    out.write(`azr replay: ${(error as Error).message}\n`);
    return error instanceof FeedConfigError && !/no such|no events/.test((error as Error).message) ? 2 : 1;
  }
  const stats = feed.stats();
  out.write(
    `azr replay: serving ${stats.nextSeq} events of ${logPath}\n  dashboard ${feed.url}\n  feed      ${feed.wsUrl}  (azr watch ${feed.wsUrl})\n`,
  );
  options.onListening?.(feed);

  await new Promise<void>((resolve) => {
    const handleSignals = options.handleSignals ?? options.signal === undefined;
    const stop = () => {
      if (handleSignals) {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (handleSignals) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    options.signal?.addEventListener('abort', stop, { once: true });
    if (options.signal?.aborted === true) stop();
  });
  await feed.close();
  out.write(`azr replay: stopped after ${feed.stats().connectionsTotal} connections\n`);
  return 0;
}
