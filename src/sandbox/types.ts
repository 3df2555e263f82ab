// The executor's contract: error kinds, results, limits and their defaults, and the jobs a worker runs.

/**
 * Why a run failed. Every failure is data of one of these kinds, never an exception to the caller.
 * - `syntax`: the program does not parse. `bad_input`: the input is not exactly an argument list (or an
 *   `expected`/answer text is not exactly one expression). `banned`: the static check found a banned capability.
 * - `runtime`: the program threw. `timeout`: instruction budget, deadline or wall-clock watchdog exceeded.
 *   `memory`: the memory limit was hit. `stack`: the stack limit was hit.
 * - `nondeterministic`: the two calls of `f` on the same input gave different values.
 * - `unserializable`: the output is not a value (function, symbol, class instance, cycle, getter, …).
 * - `output_too_large`: the canonical text of the output exceeds the cap.
 * - `crashed`: the worker running the request died; `overloaded`: the pool's bounded queue was full.
 * - `bad_request` (CLI only): the JSON line is not a request.
 */
export const ERROR_KINDS = [
  'syntax',
  'bad_input',
  'banned',
  'runtime',
  'timeout',
  'memory',
  'stack',
  'nondeterministic',
  'unserializable',
  'output_too_large',
  'crashed',
  'overloaded',
  'bad_request',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface SandboxError {
  kind: ErrorKind;
  message: string;
}

/**
 * Outcome of one job. `output` is the canonical text (repr) of the value `f` returned (or of the evaluated
 * expression); `match` is present when the job compared it with a gold/expected value.
 */
export type RunResult = { ok: true; output: string; match?: boolean } | { ok: false; error: SandboxError };

/** Resource limits of one job (one validation = both calls of `f`, plus serialisation). */
export interface SandboxLimits {
  /** QuickJS heap limit per runtime, bytes. */
  memoryBytes: number;
  /** QuickJS stack limit, bytes. At most 256 KiB: larger overflows the host stack first and aborts at dispose. */
  stackBytes: number;
  /** In-VM deadline for the whole job (both calls), ms, enforced by the interrupt handler. */
  timeoutMs: number;
  /** In-VM instruction budget: interrupt-handler calls per job (QuickJS calls it about every 10k operations). */
  interruptBudget: number;
  /** Main-thread watchdog: a worker stuck on one job this long (e.g. inside a native built-in) is terminated. */
  wallClockMs: number;
  /** Cap on the canonical text of an output, characters. */
  maxOutputChars: number;
  /** Cap on the nesting depth of an output value. */
  maxOutputDepth: number;
}

export const MAX_STACK_BYTES = 256 * 1024;

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: MAX_STACK_BYTES,
  timeoutMs: 1000,
  interruptBudget: 20_000,
  wallClockMs: 3000,
  maxOutputChars: 64 * 1024,
  maxOutputDepth: 200,
});

/**
 * How programs are isolated from each other (both: one QuickJS runtime per worker, no host functions in the guest).
 * - `hardened` (default): programs run one after another in a shared guest context whose built-ins are deep-frozen
 *   and whose global object is restored after every job; the context is replaced after any anomaly and every
 *   `jobsPerContext` jobs. About 4× faster than `fresh`; built-ins cannot be modified (see README).
 * - `fresh`: a brand-new context (realm) per job; maximal fidelity to Node, about 100 µs more per job.
 */
export type Isolation = 'hardened' | 'fresh';

export interface EngineOptions {
  limits: SandboxLimits;
  banned: readonly BannedRule[];
  isolation: Isolation;
  /** Hardened mode: jobs per shared context before it is replaced anyway. */
  jobsPerContext: number;
  /** The guest-side JavaScript (see guestSources.ts); read from disk when absent. */
  guest?: { harness: string; harden: string };
}

/** Hardening a context costs ~7 ms (more on a busy machine): replacing it every 10,000 jobs costs < 1 µs per job. */
export const DEFAULT_JOBS_PER_CONTEXT = 10_000;

/** A banned capability: `name` is an identifier (`Date`), a member path (`Math.random`) or a syntax form. */
export interface BannedRule {
  name: string;
  reason: string;
}

/**
 * One unit of work for a worker. All fields are plain data (structured-clonable).
 * - `validate`: run `f(input)` (twice when `determinism`), optionally compare with `expected` (a JS expression).
 * - `evaluate`: evaluate one expression (a value text) to its canonical text.
 * - `check`: run `f(input)` once and compare with `gold` (a canonical text): abduction and induction checks.
 * - `request`: an `azr exec` request line (below).
 */
export type Job =
  | {
      type: 'validate';
      program: string;
      input: string;
      /** Apply the static (banned-capability) check to program, input and expected. */
      staticCheck: boolean;
      /** Call `f` twice in the same context and require equal values. */
      determinism: boolean;
      expected?: string;
    }
  | { type: 'evaluate'; expression: string; staticCheck: boolean }
  | { type: 'check'; program: string; input: string; gold: string; staticCheck: boolean; literalInput?: boolean }
  /**
   * One `azr exec` request line, parsed in the worker (see request.ts) and run as a `validate` job (with both checks
   * when `validate`). Its result has the shape of the answer line; a line that is not a request gives `bad_request`.
   */
  | { type: 'request'; line: string; validate: boolean };

/** main thread → worker */
export type ToWorker = { type: 'batch'; id: number; jobs: Job[] };
/** worker → main thread */
export type FromWorker =
  { type: 'ready' } | { type: 'results'; id: number; results: RunResult[] } | { type: 'fatal'; message: string };

/** What a worker needs at start (sent as its workerData). */
export interface WorkerConfig {
  engine: EngineOptions;
  /** QuickJS's WASM compiled by the main thread (see quickJsWasm), or null to let the worker compile it. */
  wasm: WebAssembly.Module | null;
  /** Shared progress slot: the worker stores 1 + the index (in its batch) of the job it is running, 0 when idle. */
  progress: SharedArrayBuffer;
}

export function err(kind: ErrorKind, message: string): RunResult {
  return { ok: false, error: { kind, message } };
}

/** Resolves the limits, checking the ones QuickJS cannot survive. */
export function resolveLimits(limits: Partial<SandboxLimits> = {}): SandboxLimits {
  const l = { ...DEFAULT_LIMITS, ...limits };
  for (const [k, v] of Object.entries(l)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new RangeError(`sandbox limit ${k} must be a positive number, got ${v}`);
  }
  if (l.stackBytes > MAX_STACK_BYTES)
    throw new RangeError(
      `stackBytes must be at most ${MAX_STACK_BYTES}: a larger QuickJS stack overflows the host stack`,
    );
  return l;
}
