// The default banned list of the static check (its own module, so the CLI can show it without loading acorn).
import type { BannedRule } from './types.js';

/**
 * The default banned list. Rule names: an identifier (`Date`: banned wherever it is used as a variable), a member
 * path (`Math.random`), or a syntax form: `import()` (dynamic import and `import.meta`), `async` (async functions,
 * `await`), `generator` (generator functions; not banned by default), `constructor()` (calling `x.constructor(…)`,
 * the usual way to reach the Function constructor).
 */
export const DEFAULT_BANNED: readonly BannedRule[] = Object.freeze([
  {
    name: 'Math.random',
    reason: 'nondeterministic: programs must be deterministic (Math.random is absent in the sandbox)',
  },
  { name: 'Date', reason: 'reads the clock, so it is nondeterministic (Date is absent in the sandbox)' },
  { name: 'performance', reason: 'reads the clock, so it is nondeterministic' },
  { name: 'eval', reason: 'dynamic code evaluation hides code from this check' },
  { name: 'Function', reason: 'the Function constructor is dynamic code evaluation' },
  {
    name: 'constructor()',
    reason: 'calling .constructor(...) reaches the Function constructor (dynamic code evaluation)',
  },
  { name: 'import()', reason: 'module loading: no modules exist in the sandbox' },
  { name: 'require', reason: 'host access: no host modules exist in the sandbox' },
  { name: 'process', reason: 'host access: no process object exists in the sandbox' },
  { name: 'module', reason: 'host access: no module object exists in the sandbox' },
  { name: 'exports', reason: 'host access: no exports object exists in the sandbox' },
  { name: 'global', reason: 'host access: no Node global exists in the sandbox' },
  {
    name: 'globalThis',
    reason: 'reaches the global object: a program must be a function of its input, not of global state',
  },
  { name: 'WebAssembly', reason: 'low-level code loading is not available' },
  { name: 'Atomics', reason: 'shared-memory primitives are not available' },
  { name: 'SharedArrayBuffer', reason: 'shared memory is not available' },
  { name: 'WeakRef', reason: 'observes garbage collection, so it is nondeterministic' },
  { name: 'FinalizationRegistry', reason: 'observes garbage collection, so it is nondeterministic' },
  { name: 'Proxy', reason: 'proxies are not available (they would run code while the output is inspected)' },
  { name: 'Promise', reason: 'asynchronous code: the executor runs no event loop, so a promise never settles' },
  { name: 'async', reason: 'asynchronous code: the executor runs no event loop, so an async result never arrives' },
  { name: 'setTimeout', reason: 'timers: the executor runs no event loop' },
  { name: 'setInterval', reason: 'timers: the executor runs no event loop' },
  { name: 'setImmediate', reason: 'timers: the executor runs no event loop' },
  { name: 'queueMicrotask', reason: 'asynchronous code: the executor runs no event loop' },
]);
