// `azr watch [URL]`: a terminal client of the feed; a live summary refreshed in place on a TTY, one line per step otherwise.
import { DEFAULT_FEED_PORT } from './protocol.js';
import type { RunEventType } from '../streams/events.js';
import { FeedClient } from './feedClient.js';
import { WatchState, renderBaseLine, renderStepLine, renderSummary } from './watchSummary.js';

/** Where `azr watch` looks by default. */
export const DEFAULT_WATCH_URL = `ws://127.0.0.1:${DEFAULT_FEED_PORT}/`;

/** The event types the summary uses (proposal texts and actor states stay on the server). */
export const WATCH_TYPES: RunEventType[] = [
  'base.progress',
  'run.started',
  'run.finished',
  'rollout.scored',
  'learner.step',
  'health',
  'buffer.sizes',
  'queue.depth',
  'probe.evaluated',
  'step.finished',
  'error',
];

/** A writable text stream; a terminal has `isTTY` and `columns`. */
export interface TextOut {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface WatchOptions {
  /** Sent as `Authorization: Bearer TOKEN` (`--token`). */
  token?: string;
  /** Summary output; default process.stdout. */
  out?: TextOut;
  /** Diagnostics (connection problems); default process.stderr. */
  err?: TextOut;
  /** Refresh one block in place (default: when `out` is a terminal); otherwise print one line per step. */
  tty?: boolean;
  /** Least time between two redraws on a terminal. Default 250 ms. */
  refreshMs?: number;
  /** First seq to read (`--from-seq`); default 0, so the summary covers the whole run. */
  fromSeq?: number;
  /** Return when the run finishes (default true); false keeps watching for a resumed run. */
  exitOnFinish?: boolean;
  /** Failed connection attempts in a row before giving up. Default 5 (about 8 s of backoff). */
  maxAttempts?: number;
  /** Stops watching (exit code 0). */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM. Default true when no `signal` is given. */
  handleSignals?: boolean;
}

/** Accepts the dashboard's http(s) address too, and a bare host:port. */
export function feedUrl(url: string): string {
  if (/^https?:\/\//i.test(url)) return url.replace(/^http/i, 'ws');
  if (!/^wss?:\/\//i.test(url)) return `ws://${url}`;
  return url;
}

/**
 * Runs `azr watch`: connects to the feed at `url`, reads the run from `fromSeq`, and shows its summary until the
 * run finishes, the user stops it, or the feed cannot be reached.
 * @returns the exit code: 0 finished or stopped, 1 could not connect or was refused.
 */
export async function watchCommand(url: string = DEFAULT_WATCH_URL, options: WatchOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const tty = options.tty ?? out.isTTY === true;
  const refreshMs = options.refreshMs ?? 250;
  const exitOnFinish = options.exitOnFinish ?? true;
  const state = new WatchState();
  const target = feedUrl(url);
  let drawn = 0;
  let redraw: ReturnType<typeof setTimeout> | null = null;
  let lastStatus = '';

  const draw = () => {
    if (redraw !== null) clearTimeout(redraw);
    redraw = null;
    const lines = renderSummary(state.summary, Math.max(40, (out.columns ?? 100) - 1));
    // Back to the top of the previous block, clear it, write the new one.
    out.write(`${drawn > 0 ? `\x1b[${drawn}A\r\x1b[0J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const scheduleDraw = () => {
    if (tty && redraw === null) redraw = setTimeout(draw, refreshMs);
  };

  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const client = new FeedClient({
    url: target,
    ...(options.token !== undefined ? { token: options.token } : {}),
    fromSeq: options.fromSeq ?? 0,
    types: WATCH_TYPES,
    maxAttempts: options.maxAttempts ?? 5,
    onHello: (hello) => {
      state.hello(hello);
      scheduleDraw();
    },
    onEvents: (events) => {
      const completed = state.apply(events);
      if (!tty) {
        for (const e of events) if (e.type === 'base.progress') out.write(`${renderBaseLine(e)}\n`);
        for (const step of completed) out.write(`${renderStepLine(state.summary, step)}\n`);
      }
      scheduleDraw();
      if (state.summary.finished !== null && exitOnFinish) client.close('run finished');
    },
    onGap: (gap) => {
      state.gap(gap);
      if (!tty) out.write(`gap: seq ${gap.fromSeq}–${gap.toSeq} skipped (${gap.reason})\n`);
      scheduleDraw();
    },
    onError: (message) => err.write(`azr watch: ${message}\n`),
    onStatus: (status, detail) => {
      state.summary.connection = status === 'open' ? (state.summary.source ?? 'live') : status;
      if (status === 'open' && client.hello !== null) state.summary.connection = client.hello.source;
      const line = status === 'open' ? `connected to ${target}` : `${status}: ${detail}`;
      if (!tty && line !== lastStatus && status !== 'closed') err.write(`azr watch: ${line}\n`);
      lastStatus = line;
      scheduleDraw();
    },
  });

  const stop = () => client.close('stopped');
  const handleSignals = options.handleSignals ?? options.signal === undefined;
  if (handleSignals) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted === true) stop();

  void client.ended.then((end) => {
    if (tty) draw();
    const s = state.summary;
    if (s.finished !== null)
      out.write(`run ${s.runId ?? ''} finished: ${s.finished.reason} after ${s.finished.steps} steps\n`);
    if (end.reason === 'refused' || end.reason === 'gave-up') {
      err.write(`azr watch: cannot watch ${target}: ${end.detail}\n`);
      finish(1);
    } else {
      finish(0);
    }
  });
  client.start();
  try {
    return await done;
  } finally {
    if (redraw !== null) clearTimeout(redraw);
    if (handleSignals) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    options.signal?.removeEventListener('abort', stop);
  }
}
