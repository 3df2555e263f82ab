// How the pool starts a worker: from a plain-JS bundle when possible (fast), else through tsx (startTsWorker).
//
// A worker started from a .ts entry registers tsx in its own thread, which starts a module-hooks thread and
// resolves every import through it: about 0.3–0.6 s per worker on this 2-core machine, which dominated the start-up
// of `azr exec`. So the pool bundles worker.ts and its imports (acorn included) into one ES module with esbuild —
// the compiler tsx itself runs on, resolved through tsx, whose dependency it is — and starts workers from that.
// quickjs-emscripten stays an external import, by absolute URL, because it finds its WASM file relative to its
// own module. The bundle is cached in the OS temp directory and rebuilt when any of its input files changes
// (size or mtime), so a warm start costs a few stat calls. Any failure falls back to tsx.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { startTsWorker } from '../tsWorker.js';

const ENTRY = new URL('./worker.ts', import.meta.url);

/** The part of esbuild's API used here (esbuild ships its own types, but it is tsx's dependency, not ours). */
interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: Array<{ text: string }>; metafile?: { inputs: Record<string, unknown> } }>;
}

interface Manifest {
  bundle: string;
  inputs: Array<[path: string, size: number, mtimeMs: number]>;
}

let bundle: Promise<URL | null> | undefined;
let wasm: Promise<WebAssembly.Module | null> | undefined;

/**
 * QuickJS's WASM, compiled once in this thread and handed to every worker (a WebAssembly.Module can be sent to
 * workers), so that a worker instantiates it instead of compiling it again: 10–60 ms less per worker start.
 */
export function quickJsWasm(): Promise<WebAssembly.Module | null> {
  wasm ??= (async () => {
    const require = createRequire(import.meta.url);
    const variant = createRequire(require.resolve('quickjs-emscripten')).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    // (TypeScript's lib here types WebAssembly's namespace but not its functions.)
    const wa = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;
    return wa.compile(readFileSync(variant));
  })().catch(() => null);
  return wasm;
}

/** Where the worker bundle is (a file: or data: URL), or null when it cannot be built (workers then use tsx). */
export function workerBundle(): Promise<URL | null> {
  bundle ??= locateBundle().catch(() => null);
  return bundle;
}

function unchanged(inputs: Manifest['inputs']): boolean {
  return inputs.every(([path, size, mtimeMs]) => {
    const st = statSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.size === size && st.mtimeMs === mtimeMs;
  });
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

async function locateBundle(): Promise<URL | null> {
  if (process.env.AZR_SANDBOX_TSX_WORKERS === '1') return null;
  const require = createRequire(import.meta.url);
  const qjsPackage = require.resolve('quickjs-emscripten/package.json');
  const qjsExports = (JSON.parse(readFileSync(qjsPackage, 'utf8')) as { exports: { '.': { import: string } } }).exports['.'].import;
  const qjsUrl = pathToFileURL(join(dirname(qjsPackage), qjsExports)).href;
  const entry = fileURLToPath(ENTRY);
  const key = createHash('sha1').update(JSON.stringify([entry, qjsUrl, process.version])).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `azr-sandbox-worker-${process.getuid?.() ?? 'user'}`);
  const manifestPath = join(dir, `${key}.json`);
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (unchanged(manifest.inputs)) {
      statSync(manifest.bundle);
      return pathToFileURL(manifest.bundle);
    }
  } catch {
    // no usable cache: build below
  }

  const esbuild = createRequire(require.resolve('tsx'))('esbuild') as EsbuildLike;
  const root = dirname(entry);
  const out = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    external: ['quickjs-emscripten'],
    logLevel: 'silent',
  });
  const text = out.outputFiles?.[0]?.text;
  const pattern = /(from\s*|import\s*\(\s*)"quickjs-emscripten"/g;
  if (!text || !pattern.test(text)) return null;
  const code = text.replace(pattern, (_m, lead: string) => `${lead}${JSON.stringify(qjsUrl)}`);
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${key}-${createHash('sha1').update(code).digest('hex').slice(0, 16)}.mjs`);
    writeAtomically(file, code);
    const inputs: Manifest['inputs'] = Object.keys(out.metafile?.inputs ?? {}).map((p) => {
      const abs = resolve(root, p);
      const st = statSync(abs);
      return [abs, st.size, st.mtimeMs];
    });
    writeAtomically(manifestPath, JSON.stringify({ bundle: file, inputs } satisfies Manifest));
    return pathToFileURL(file);
  } catch {
    return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  }
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
  const opts = { execArgv: workerExecArgv(), ...options };
  if (bundleUrl === null) return startTsWorker(ENTRY, { ...opts, workerData: data });
  return new Worker(bundleUrl, { ...opts, workerData: { data } });
}
