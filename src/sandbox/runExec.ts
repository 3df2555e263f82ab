// The streaming part of `azr exec`: JSON Lines in, one JSON line per request out, in order, through the pool.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { SandboxPool } from './pool.js';
import type { BannedRule, Isolation, Job, RunResult, SandboxLimits } from './types.js';

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

const FIELDS = new Set(['program', 'input', 'expected']);

/** One JSON line → a job, or why it is not a request. */
export function parseRequest(line: string, validate: boolean): { job: Job; hasExpected: boolean } | { error: string } {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return { error: `not a JSON line: ${(e as Error).message}` };
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) return { error: 'a request is a JSON object {"program", "input", "expected"?}' };
  const r = req as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!FIELDS.has(k)) return { error: `unknown field "${k}" (fields: program, input, expected)` };
  if (typeof r.program !== 'string') return { error: '"program" must be a string' };
  if (typeof r.input !== 'string') return { error: '"input" must be a string (the source text of an argument list)' };
  if (r.expected !== undefined && typeof r.expected !== 'string') return { error: '"expected" must be a string (a JavaScript expression)' };
  const job: Job = { type: 'validate', program: r.program, input: r.input, staticCheck: validate, determinism: validate };
  if (typeof r.expected === 'string') job.expected = r.expected;
  return { job, hasExpected: typeof r.expected === 'string' };
}

/** The response line for a result (without the newline). */
export function formatResult(r: RunResult, hasExpected: boolean): string {
  if (r.ok) return JSON.stringify(hasExpected ? { ok: true, output: r.output, match: r.match === true } : { ok: true, output: r.output });
  return JSON.stringify({ ok: false, error: { kind: r.error.kind, message: r.error.message } });
}

/**
 * Streams requests from `input` to `output`. Resolves when every line has been answered, or with the error that
 * made the output unwritable (a closed pipe, for instance): then reading stops.
 */
export async function runExec(input: Readable, output: Writable, log: Writable, options: ExecOptions): Promise<{ outputError: Error | null }> {
  const started = performance.now();
  const pool = new SandboxPool({ workers: options.workers, limits: options.limits, banned: options.banned, isolation: options.isolation });
  const rl = createInterface({ input, crlfDelay: Infinity });
  const window = Math.max(1, options.window);
  const done = new Map<number, string>();
  let issued = 0;
  let written = 0;
  let pendingOut = '';
  let flushScheduled = false;
  let blocked = false; // the output stream asked us to wait for 'drain'
  let outputError: Error | null = null;
  let badRequests = 0;
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

  try {
    for await (const line of rl) {
      const index = issued++;
      const req = parseRequest(line, options.validate);
      if ('error' in req) {
        badRequests++;
        answer(index, formatResult({ ok: false, error: { kind: 'bad_request', message: req.error } }, false));
      } else void pool.run(req.job).then((r) => answer(index, formatResult(r, req.hasExpected)));
      if (issued - written >= window || blocked) await until(() => issued - written < window && !blocked);
      if (outputError) break;
    }
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
      const errorCounts = Object.entries({ ...stats.errors, bad_request: badRequests }).filter(([, n]) => n > 0);
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
