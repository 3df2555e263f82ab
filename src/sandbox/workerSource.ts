// How the pool starts a worker: from a plain-JS bundle when possible (fast), else through tsx (startTsWorker).
//
// A worker started from a .ts entry registers tsx in its own thread, which starts a module-hooks thread and
// resolves every import through it: about 0.3–0.6 s per worker on this 2-core machine, which dominated the start-up
// of `azr exec`. So the pool starts workers from a bundle of worker.ts and its imports (see bundle.mjs: built with
// esbuild, cached in node_modules/.cache/azr, rebuilt when an input file changes). Any failure falls back to tsx.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { startTsWorker } from '../platform/tsWorker.js';
import { cachedBundle } from '../platform/bundle.mjs';

const ENTRY = new URL('./worker.ts', import.meta.url);

let bundle: Promise<URL | null> | undefined;
let wasm: Promise<WebAssembly.Module | null> | undefined;

/**
 * QuickJS's WASM, compiled once in this thread and handed to every worker (a WebAssembly.Module can be sent to
 * workers), so that a worker instantiates it instead of compiling it again: 10–60 ms less per worker start.
 */
export function quickJsWasm(): Promise<WebAssembly.Module | null> {
  wasm ??= (async () => {
    const require = createRequire(import.meta.url);
    const variant = createRequire(require.resolve('quickjs-emscripten')).resolve(
      '@jitl/quickjs-wasmfile-release-sync/wasm',
    );
    // (TypeScript's lib here types WebAssembly's namespace but not its functions.)
    const wa = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } })
      .WebAssembly;
    return wa.compile(readFileSync(variant));
  })().catch(() => null);
  return wasm;
}

/** Where the worker bundle is (a file: URL), or null when it cannot be built (workers then use tsx). */
export function workerBundle(): Promise<URL | null> {
  bundle ??= process.env.AZR_SANDBOX_TSX_WORKERS === '1' ? Promise.resolve(null) : cachedBundle(ENTRY);
  return bundle;
}

/** Node options a worker must not inherit (they only make sense for the main entry, e.g. `node -e`). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}

/** Starts one sandbox worker; `data` reaches it as `workerData.data`, whichever way it starts. */
export function startSandboxWorker(bundleUrl: URL | null, data: unknown, options: WorkerOptions = {}): Worker {
  const start = (execArgv: string[]) => {
    const opts = { execArgv, ...options };
    if (bundleUrl === null) return startTsWorker(ENTRY, { ...opts, workerData: data });
    return new Worker(bundleUrl, { ...opts, workerData: { data } });
  };
  try {
    return start(workerExecArgv());
  } catch (e) {
    // Process-wide flags (e.g. `node --max-semi-space-size=32 bin/azr.js …`) cannot be given to a worker: start it
    // without the parent's options rather than fail.
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return start([]);
  }
}
