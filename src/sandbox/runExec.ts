// The streaming part of `azr exec`: JSON Lines in, one JSON line per request out, in order, through the pool.
//
// The main thread only splits the input into lines and writes the answers: each line goes to a worker as it is
// (a 'request' job), which parses it, runs it and returns its result in the shape of the answer line. On 2 cores the
// main thread competes with the workers, so every microsecond per request it saves is one the workers get.
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SandboxPool } from './pool.js';
import type { BannedRule, Isolation, RunResult, SandboxLimits } from './types.js';

export interface ExecOptions {
  /** Static check + determinism check (default true); `--no-validate` turns both off. */
  validate: boolean;
  workers?: number;
  /** Most requests read but not yet written (bounds memory whatever the input length). */
  window: number;
  limits: Partial<SandboxLimits>;
  banned: readonly BannedRule[];
  /** No summary line on the log stream. */
  quiet: boolean;
  isolation?: Isolation;
}

/**
 * Streams requests from `input` to `output`. Resolves when every line has been answered, or with the error that
 * made the output unwritable (a closed pipe, for instance): then reading stops.
 */
export async function runExec(
  input: Readable,
  output: Writable,
  log: Writable,
  options: ExecOptions,
): Promise<{ outputError: Error | null }> {
  const started = performance.now();
  const pool = new SandboxPool({
    workers: options.workers,
    limits: options.limits,
    banned: options.banned,
    isolation: options.isolation,
  });
  const window = Math.max(1, options.window);
  const done = new Map<number, string>();
  let issued = 0;
  let written = 0;
  let pendingOut = '';
  let flushScheduled = false;
  let blocked = false; // the output stream asked us to wait for 'drain'
  let outputError: Error | null = null;
  let wake: (() => void) | null = null;

  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const flush = () => {
    flushScheduled = false;
    if (pendingOut === '' || outputError) return;
    const chunk = pendingOut;
    pendingOut = '';
    if (!output.write(chunk)) {
      blocked = true;
      output.once('drain', () => {
        blocked = false;
        signal();
      });
    }
  };
  const answer = (index: number, line: string) => {
    done.set(index, line);
    while (done.has(written)) {
      pendingOut += done.get(written)! + '\n';
      done.delete(written);
      written++;
    }
    if (pendingOut.length > 1 << 16) flush();
    else if (!flushScheduled && pendingOut !== '') {
      flushScheduled = true;
      setImmediate(flush);
    }
    signal();
  };
  const until = async (cond: () => boolean) => {
    while (!cond() && !outputError) await new Promise<void>((r) => (wake = r));
  };
  const onOutputError = (e: Error) => {
    outputError = e;
    signal();
  };
  output.on('error', onOutputError);

  const submit = (line: string) => {
    const index = issued++;
    pool.submit({ type: 'request', line, validate: options.validate }, (r: RunResult) =>
      answer(index, JSON.stringify(r)),
    );
  };

  try {
    // Lines end at \n, \r\n or a lone \r, as with readline; a last line without an end counts too.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    const split = async (text: string, final: boolean) => {
      // A \r at the very end may be the first half of a \r\n split across chunks: keep it for the next one.
      const end = !final && text.charCodeAt(text.length - 1) === 13 ? text.length - 1 : text.length;
      let start = 0;
      for (;;) {
        let brk = text.indexOf('\n', start);
        if (brk < 0 || brk > end) brk = end;
        const cr = text.indexOf('\r', start);
        if (cr >= 0 && cr < brk) brk = cr;
        if (brk === end && !(final && end > start)) break;
        submit(text.slice(start, brk));
        start = brk + (text.charCodeAt(brk) === 13 && text.charCodeAt(brk + 1) === 10 ? 2 : 1);
        if (issued - written >= window || blocked) await until(() => issued - written < window && !blocked);
        if (outputError) return '';
      }
      return text.slice(start);
    };
    for await (const chunk of input as AsyncIterable<string | Buffer>) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      rest = await split(rest === '' ? text : rest + text, false);
      if (outputError) break;
    }
    if (!outputError) await split(rest + decoder.end(), true);
    await until(() => written === issued);
    flush();
    await until(() => !blocked);
    return { outputError };
  } finally {
    output.off('error', onOutputError);
    const stats = pool.stats();
    const unanswered = issued - written;
    await pool.close();
    if (!options.quiet) {
      const secs = (performance.now() - started) / 1000;
      const errorCounts = Object.entries(stats.errors).filter(([, n]) => n > 0);
      const errorTotal = errorCounts.reduce((n, [, k]) => n + k, 0);
      const breakdown = errorCounts.map(([k, n]) => `${k} ${n}`).join(', ');
      const rss = process.resourceUsage().maxRSS / 1024;
      log.write(
        `azr exec: ${issued} lines, ${stats.ok} ok, ${errorTotal} errors${breakdown ? ` (${breakdown})` : ''}` +
          `${unanswered > 0 ? `, ${unanswered} unanswered` : ''}, ${stats.respawns} worker restarts, ${stats.batches} batches, ` +
          `${secs.toFixed(2)} s, ${Math.round(issued / Math.max(secs, 1e-9))} lines/s, peak RSS ${rss.toFixed(0)} MiB\n`,
      );
    }
  }
}
