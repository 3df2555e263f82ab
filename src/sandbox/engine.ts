// One QuickJS engine per thread (a WASM module, a runtime, a private harness context): runs jobs under limits.
//
// Isolation (see Isolation in types.ts). The guest never gets a host function, Date, Proxy, Math.random or eval.
// - hardened: one shared guest context, deep-frozen by harden.guest.js before any program. A program is compiled
//   inside an arrow function (`(() => { <program> ; return () => f(<input>) })`), so its declarations are local to
//   the job; the program was checked to parse alone as a script (by QuickJS, or acorn), so it cannot close it. After
//   the job the harness deletes the globals it added; the context is replaced if that fails, after a timeout or a
//   memory error, when a promise job is left over, and every `jobsPerContext` jobs.
// - fresh: a new context per job; the program runs as a global script, then the thunk.
// Either way the two calls of the determinism check share the job's context, as the paper's double run does.

import { performance } from 'node:perf_hooks';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  RELEASE_SYNC,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { equalCanonical, parseValue, parseValueOrExpression, reprValue } from './canonical.js';
import { guestSources, type GuestSources } from './guestSources.js';
import { answerShape, parseRequest } from './request.js';
import { checkArguments, checkExpression, checkProgram, mayUseBanned } from './staticCheck.js';
import {
  err,
  MAX_STACK_BYTES,
  type EngineOptions,
  type ErrorKind,
  type Job,
  type RunResult,
  type SandboxError,
} from './types.js';

/** Guest built-ins: no Date (a clock), no Proxy (it would run code while a value is inspected). */
const FULL_INTRINSICS = {
  BaseObjects: true,
  Eval: true, // evalCode needs it; hardened contexts delete the global `eval` itself
  StringNormalize: true,
  RegExp: true,
  JSON: true,
  MapSet: true,
  Promise: true,
  BigInt: true,
  TypedArrays: true,
} as const;
/**
 * Fresh mode: typed arrays cost about 40 µs per context (a third of it), so they are added only when the job's
 * source names one; a program that builds such a name dynamically finds them absent.
 */
const LEAN_INTRINSICS = { ...FULL_INTRINSICS, TypedArrays: false } as const;
const NAMES_TYPED_ARRAY = /ArrayBuffer|DataView|(?:Int|Uint|Float|BigInt|BigUint)(?:8|16|32|64)(?:Clamped)?Array/;

const PARSED_CACHE_SIZE = 512;

const KINDS = new Set<string>([
  'runtime',
  'memory',
  'stack',
  'timeout',
  'nondeterministic',
  'unserializable',
  'output_too_large',
  'syntax',
  'bad_input',
]);

let sharedModule: Promise<QuickJSWASMModule> | undefined;

/** The QuickJS WASM module of this thread (one per worker), from an already compiled WebAssembly.Module if given. */
function quickJsModule(wasm: WebAssembly.Module | null = null): Promise<QuickJSWASMModule> {
  sharedModule ??= newQuickJSWASMModuleFromVariant(
    wasm ? newVariant(RELEASE_SYNC, { wasmModule: wasm }) : RELEASE_SYNC,
  );
  return sharedModule;
}

interface Harness {
  rt: QuickJSRuntime;
  trusted: QuickJSContext;
  fns: Record<'prepare' | 'run' | 'describe' | 'snapshot' | 'trustGetters', QuickJSHandle>;
}

/** The hardened shared guest context and what the host keeps about it. */
interface Shared {
  ctx: QuickJSContext;
  proto: QuickJSHandle;
  snapshot: QuickJSHandle;
  jobs: number;
}

/** What one job asks the VM to do: run a program and call `f(input)`, or evaluate one expression. */
type Call = { program: string; input: string; twice: boolean } | { expression: string };

export class QuickJsEngine {
  private h: Harness;
  private shared: Shared | null = null;
  private calls = 0;
  private deadline = Infinity;
  private budget = Infinity;
  private interrupted = false;
  /** Set when the engine cannot recover from a host-side failure; its thread should exit. */
  broken = false;
  /** Runtimes and shared contexts created so far (for tests and stats). */
  readonly created = { runtimes: 0, sharedContexts: 0 };

  private readonly guest: GuestSources;

  private constructor(
    private readonly module: QuickJSWASMModule,
    private readonly options: EngineOptions,
  ) {
    this.guest = options.guest ?? guestSources();
    this.h = this.newHarness();
    if (options.isolation === 'hardened') this.sharedContext(); // harden now, not during the first job
  }

  static async create(options: EngineOptions, wasm: WebAssembly.Module | null = null): Promise<QuickJsEngine> {
    if (options.limits.stackBytes > MAX_STACK_BYTES || options.limits.stackBytes <= 0)
      throw new RangeError(
        `stackBytes must be in (0, ${MAX_STACK_BYTES}]: a larger QuickJS stack overflows the host stack first`,
      );
    return new QuickJsEngine(await quickJsModule(wasm), options);
  }

  private newHarness(): Harness {
    const { limits } = this.options;
    const rt = this.module.newRuntime();
    rt.setMemoryLimit(limits.memoryBytes);
    rt.setMaxStackSize(limits.stackBytes);
    rt.setInterruptHandler(() => {
      if (++this.calls > this.budget || performance.now() > this.deadline) {
        this.interrupted = true;
        return true;
      }
      return false;
    });
    const trusted = rt.newContext({
      intrinsics: { BaseObjects: true, Eval: true, JSON: true, RegExp: true, MapSet: true, BigInt: true },
    });
    const factory = trusted.unwrapResult(trusted.evalCode(this.guest.harness, 'harness.guest.js'));
    const maxChars = trusted.newNumber(limits.maxOutputChars);
    const maxDepth = trusted.newNumber(limits.maxOutputDepth);
    const api = trusted.unwrapResult(trusted.callFunction(factory, trusted.undefined, maxChars, maxDepth));
    factory.dispose();
    maxChars.dispose();
    maxDepth.dispose();
    const names = ['prepare', 'run', 'describe', 'snapshot', 'trustGetters'] as const;
    const fns = Object.fromEntries(names.map((n) => [n, trusted.getProp(api, n)])) as Harness['fns'];
    api.dispose();
    this.created.runtimes++;
    return { rt, trusted, fns };
  }

  /** Replaces the runtime (and with it every context). */
  private recycleRuntime(): void {
    this.disposeShared();
    this.disposeHarness();
    this.h = this.newHarness();
  }

  private disposeHarness(): void {
    const { rt, trusted, fns } = this.h;
    for (const f of Object.values(fns)) f.dispose();
    trusted.dispose();
    rt.dispose();
  }

  private disposeShared(): void {
    const s = this.shared;
    if (!s) return;
    this.shared = null;
    s.snapshot.dispose();
    s.proto.dispose();
    s.ctx.dispose();
  }

  dispose(): void {
    this.disposeShared();
    this.disposeHarness();
  }

  /** Bytes the current runtime has allocated (for leak checks). */
  memoryUsed(): number {
    const ctx = this.h.trusted;
    const usage = this.h.rt.computeMemoryUsage();
    const used = ctx.getProp(usage, 'memory_used_size').consume((x) => ctx.getNumber(x));
    usage.dispose();
    return used;
  }

  /** Runs one job; any unexpected host-side failure becomes a `crashed` result and a fresh runtime. */
  runJob(job: Job): RunResult {
    try {
      switch (job.type) {
        case 'validate':
          return this.validate(job);
        case 'evaluate':
          return this.evaluate(job.expression, job.staticCheck, 'expression');
        case 'check':
          return this.check(job);
        case 'request': {
          const req = parseRequest(job.line, job.validate);
          return 'error' in req ? err('bad_request', req.error) : answerShape(this.validate(req.job), req.hasExpected);
        }
      }
    } catch (e) {
      try {
        this.recycleRuntime();
      } catch {
        this.broken = true; // the WASM module itself is unusable: the worker must be replaced
      }
      return err('crashed', `executor failure: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  /**
   * The program must parse: with the banned list when the static check is on, and always in hardened mode, where
   * a parse of the program alone as a script is what guarantees that it cannot close the function it is compiled in.
   *
   * Hardened mode, when no banned name can occur in the source (no banned word, no escape; see mayUseBanned): the
   * banned list has nothing to find, so the only question is whether the program parses alone as a script, and
   * QuickJS — the parser that will compile it, already warm — answers it. Acorn costs about as much per program in
   * steady state, but in each new worker thread it first runs cold: its first ~2,000 parses cost ~0.4 s of CPU
   * (interpreter and JIT), measured on the 2-core box; that was a large part of a 50,000-program `azr exec` run.
   * Every program QuickJS refuses still gets acorn's verdict and message, as before; a program only acorn would
   * refuse (an early error QuickJS does not report) now runs, as QuickJS compiles it.
   */
  private checkSource(program: string, staticCheck: boolean): RunResult | null {
    if (!staticCheck && this.options.isolation !== 'hardened') return null;
    const bans = staticCheck ? this.options.banned : null;
    if (
      this.options.isolation === 'hardened' &&
      (bans === null || !mayUseBanned(program, bans)) &&
      this.parsesAlone(program)
    )
      return null;
    const c = checkProgram(program, bans);
    return c.ok ? null : c;
  }

  /** Programs QuickJS parsed alone as a script lately (AZR runs the same program on many inputs). */
  private readonly parsed = new Set<string>();

  /** Does QuickJS compile the program alone as a script? (Compiling runs no guest code.) */
  private parsesAlone(program: string): boolean {
    if (this.parsed.has(program)) return true;
    const r = this.sharedContext().ctx.evalCode(program, 'program.js', { compileOnly: true });
    if (r.error) {
      r.error.dispose();
      return false;
    }
    r.value.dispose();
    if (this.parsed.size >= PARSED_CACHE_SIZE) this.parsed.delete(this.parsed.values().next().value!);
    this.parsed.add(program);
    return true;
  }

  private validate(job: Extract<Job, { type: 'validate' }>): RunResult {
    const bans = job.staticCheck ? this.options.banned : null;
    const bad = this.checkSource(job.program, job.staticCheck);
    if (bad) return bad;
    const a = checkArguments(job.input, bans);
    if (!a.ok) return a;
    let expectedText: string | undefined;
    if (job.expected !== undefined) {
      const literal = parseValueOrExpression(job.expected);
      if (literal.ok) expectedText = reprValue(literal.value);
      else {
        const c = checkExpression(job.expected, bans, 'expected', literal.parsed);
        if (!c.ok) return c;
      }
    }
    const out = this.call({ program: job.program, input: job.input, twice: job.determinism });
    if (!out.ok || job.expected === undefined) return out;
    if (expectedText === undefined) {
      const e = this.call({ expression: job.expected });
      if (!e.ok) return err(e.error.kind, `expected: ${e.error.message}`);
      expectedText = e.output;
    }
    return { ok: true, output: out.output, match: equalCanonical(out.output, expectedText) };
  }

  private evaluate(expression: string, staticCheck: boolean, label: string): RunResult {
    const literal = parseValueOrExpression(expression);
    if (literal.ok) return { ok: true, output: reprValue(literal.value) };
    const c = checkExpression(expression, staticCheck ? this.options.banned : null, label, literal.parsed);
    if (!c.ok) return c;
    return this.call({ expression });
  }

  private check(job: Extract<Job, { type: 'check' }>): RunResult {
    const bad = this.checkSource(job.program, job.staticCheck);
    if (bad) return bad;
    const a = checkArguments(job.input, job.staticCheck ? this.options.banned : null);
    if (!a.ok) return a;
    if (job.literalInput) {
      const lit = parseValue(`[${job.input}\n]`);
      if (!lit.ok) return err('bad_input', `input must be literal values here: ${lit.error}`);
    }
    const out = this.call({ program: job.program, input: job.input, twice: false });
    if (!out.ok) return out;
    return { ok: true, output: out.output, match: equalCanonical(out.output, job.gold) };
  }

  private arm(): void {
    this.calls = 0;
    this.interrupted = false;
    this.budget = this.options.limits.interruptBudget;
    this.deadline = performance.now() + this.options.limits.timeoutMs;
  }

  private disarm(): void {
    this.deadline = Infinity;
    this.budget = Infinity;
  }

  private call(c: Call): RunResult {
    const r = this.options.isolation === 'hardened' ? this.callHardened(c) : this.callFresh(c);
    // An interrupt can be swallowed by guest code (a Promise constructor turns it into a rejection), but a job that
    // was interrupted at any point went over its limits, whatever it returned.
    return this.interrupted && (r.ok || r.error.kind !== 'timeout') ? { ok: false, error: this.timeoutError() } : r;
  }

  /**
   * Hardened mode: compile in the shared context, then one harness call runs the program's top level, the calls of
   * `f`, and the restoration of the global object.
   */
  private callHardened(c: Call): RunResult {
    const s = this.sharedContext();
    let recycle: 'runtime' | 'context' | null = null;
    let fn: QuickJSHandle | undefined;
    this.arm();
    try {
      const isExpr = 'expression' in c;
      const source = isExpr
        ? `(() => (${c.expression}\n))`
        : `(() => {\n${c.program}\n;return (() => f(${c.input}));\n})`;
      const compiled = s.ctx.evalCode(source, 'program.js');
      if (compiled.error) {
        // Compiling runs no guest code, so there is nothing to restore.
        return { ok: false, error: this.describe(compiled.error, isExpr ? 'bad_input' : 'syntax') };
      }
      fn = compiled.value;
      const { result, problem } = this.runHarness(fn, s.proto, !isExpr && c.twice, !isExpr, s);
      if (problem !== '') recycle = 'context';
      return result;
    } finally {
      this.disarm();
      fn?.dispose();
      if (this.interrupted || this.lastKind === 'memory' || this.lastKind === 'crashed') recycle = 'runtime';
      else if (this.h.rt.hasPendingJob())
        recycle = 'runtime'; // a promise job would keep this job's closures alive
      else if (recycle === null && ++s.jobs >= this.options.jobsPerContext) recycle = 'context';
      this.lastKind = null;
      if (recycle === 'runtime') this.recycleRuntime();
      else if (recycle === 'context') this.disposeShared();
    }
  }

  /** The error kind of the last harness result (set by runHarness / describe, read by the recycling logic). */
  private lastKind: ErrorKind | null = null;

  private sharedContext(): Shared {
    if (this.shared) return this.shared;
    const { rt, trusted, fns } = this.h;
    const ctx = rt.newContext({ intrinsics: FULL_INTRINSICS });
    try {
      const getters = ctx.unwrapResult(ctx.evalCode(this.guest.harden, 'harden.guest.js'));
      trusted.unwrapResult(trusted.callFunction(fns.trustGetters, trusted.undefined, getters)).dispose();
      getters.dispose();
      const proto = trusted.unwrapResult(trusted.callFunction(fns.prepare, trusted.undefined, ctx.global));
      const snapshot = trusted.unwrapResult(trusted.callFunction(fns.snapshot, trusted.undefined, ctx.global));
      this.created.sharedContexts++;
      this.shared = { ctx, proto, snapshot, jobs: 0 };
      return this.shared;
    } catch (e) {
      ctx.dispose();
      throw e;
    }
  }

  /** Fresh mode: a new context; the input thunk compiles first, the program runs as a script, then the harness. */
  private callFresh(c: Call): RunResult {
    const { rt, trusted, fns } = this.h;
    const sourceText = 'expression' in c ? c.expression : c.program + c.input;
    const ctx = rt.newContext({ intrinsics: NAMES_TYPED_ARRAY.test(sourceText) ? FULL_INTRINSICS : LEAN_INTRINSICS });
    let proto: QuickJSHandle | undefined;
    let thunk: QuickJSHandle | undefined;
    this.arm();
    try {
      proto = trusted.unwrapResult(trusted.callFunction(fns.prepare, trusted.undefined, ctx.global));
      const t = ctx.evalCode('expression' in c ? `(() => (${c.expression}\n))` : `(() => f(${c.input}))`, 'input.js');
      if (t.error) {
        const e = this.describe(t.error, 'bad_input');
        return {
          ok: false,
          error: e.kind === 'runtime' ? { kind: 'bad_input', message: `does not compile: ${e.message}` } : e,
        };
      }
      thunk = t.value;
      if ('program' in c) {
        const p = ctx.evalCode(c.program, 'program.js');
        if (p.error) return { ok: false, error: this.describe(p.error, 'syntax') };
        p.value.dispose();
      }
      return this.runHarness(thunk, proto, 'twice' in c && c.twice, false, null).result;
    } finally {
      this.disarm();
      thunk?.dispose();
      proto?.dispose();
      ctx.dispose();
      const recycle =
        this.interrupted || this.lastKind === 'memory' || this.lastKind === 'crashed' || rt.hasPendingJob();
      this.lastKind = null;
      // A promise job left in the runtime's queue would keep this context alive and could run later: drop it all.
      if (recycle) this.recycleRuntime();
    }
  }

  /** One harness call (see `run` in harness.guest.js); `problem` is why the shared context must be discarded. */
  private runHarness(
    fn: QuickJSHandle,
    proto: QuickJSHandle,
    twice: boolean,
    wrapped: boolean,
    shared: Shared | null,
  ): { result: RunResult; problem: string } {
    const { trusted, fns } = this.h;
    const args = [fn, proto, twice ? trusted.true : trusted.false, wrapped ? trusted.true : trusted.false];
    if (shared) args.push(shared.ctx.global, shared.snapshot);
    const r = trusted.callFunction(fns.run, trusted.undefined, ...args);
    if (r.error) {
      // Only an uncatchable interrupt or an allocation failure inside the harness gets here.
      r.error.dispose();
      return {
        result: this.fail(
          this.interrupted ? this.timeoutError() : { kind: 'memory', message: 'out of memory in the harness' },
        ),
        problem: 'harness failed',
      };
    }
    const s = trusted.getString(r.value);
    r.value.dispose();
    const cut = s.indexOf('\u0002');
    const result = decode(s.slice(cut + 1));
    this.lastKind = result.ok ? null : result.error.kind;
    return { result, problem: s.slice(0, cut) };
  }

  private fail(e: SandboxError): RunResult {
    this.lastKind = e.kind;
    return { ok: false, error: e };
  }

  private timeoutError(): SandboxError {
    const { interruptBudget, timeoutMs } = this.options.limits;
    const why =
      this.calls > this.budget || this.calls > interruptBudget
        ? `the instruction budget (${interruptBudget} interrupt checks)`
        : `the ${timeoutMs} ms deadline`;
    return { kind: 'timeout', message: `interrupted: exceeded ${why}` };
  }

  /** A value thrown by compiling or running guest code at top level → an error; SyntaxError becomes `syntaxKind`. */
  private describe(handle: QuickJSHandle, syntaxKind: ErrorKind): SandboxError {
    const { trusted, fns } = this.h;
    let e: SandboxError;
    try {
      if (this.interrupted) e = this.timeoutError();
      else {
        const r = trusted.callFunction(fns.describe, trusted.undefined, handle);
        if (r.error) {
          r.error.dispose();
          e = this.interrupted
            ? this.timeoutError()
            : { kind: 'memory', message: 'out of memory while describing an error' };
        } else {
          const res = decode(trusted.getString(r.value));
          r.value.dispose();
          e = res.ok ? { kind: 'runtime', message: 'unknown error' } : res.error;
          if (e.kind === 'runtime' && e.message.startsWith('SyntaxError')) e = { kind: syntaxKind, message: e.message };
        }
      }
    } finally {
      handle.dispose();
    }
    this.lastKind = e.kind;
    return e;
  }
}

/** Decodes the harness's result string (see harness.guest.js). */
function decode(s: string): RunResult {
  const tag = s[0];
  if (tag === 'o') return { ok: true, output: s.slice(1) };
  const sep = s.indexOf('\u0001');
  if (tag === 'n') {
    const a = s.slice(1, sep);
    const b = s.slice(sep + 1);
    if (equalCanonical(a, b)) return { ok: true, output: a };
    return err('nondeterministic', `the two calls on the same input returned ${clip(a)} and then ${clip(b)}`);
  }
  const kind = s.slice(1, sep);
  return err(KINDS.has(kind) ? (kind as ErrorKind) : 'runtime', s.slice(sep + 1));
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
