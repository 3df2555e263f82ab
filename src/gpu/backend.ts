// Tensor backend choice: tfjs-node-gpu → tfjs-node → wasm → cpu, the first that loads wins, and why the better ones lost is reported.

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** The backends azr knows, best first. */
export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** A better backend that was not used, and why (not installed, failed to load, failed to initialise, not forced). */
interface BackendSkip {
  readonly backend: BackendName;
  readonly reason: string;
}

/** What `initBackend` chose; shaped to be emitted as a run event as is. */
export interface BackendReport {
  readonly type: 'backend';
  /** The backend in use. */
  readonly chosen: BackendName;
  /** tfjs's own name for it (`tensorflow`, `wasm`, `cpu`). */
  readonly tfBackend: string;
  /** True when the scenario forced the choice. */
  readonly forced: boolean;
  /** Better backends that were tried or passed over, in order, each with the reason. */
  readonly skipped: readonly BackendSkip[];
  /** For tfjs-node(-gpu): whether libtensorflow sees a GPU device, when the binding says. */
  readonly gpuDevice?: boolean;
  /** For wasm: threads in use (1 in Node: no pthreads) and whether the SIMD build loaded. */
  readonly wasm?: { readonly threads: number; readonly simd: boolean };
  readonly tfjsVersion: string;
}

interface BackendOptions {
  /** Use exactly this backend or fail (a scenario's `backend:` setting). */
  readonly force?: BackendName;
  /** Module loader for the optional node packages; injectable so tests can pretend one is installed. */
  readonly importer?: (specifier: string) => Promise<unknown>;
}

/** npm package that provides each native backend; both register tfjs's `tensorflow` backend on import. */
const NODE_PACKAGES: Partial<Record<BackendName, string>> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
};

let wasmPathsSet = false;

/** Point the wasm backend at the .wasm binaries inside its package folder (needed when bundled or run from elsewhere). */
function pointWasmAtPackage(): void {
  if (wasmPathsSet) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-backend-wasm');
  setWasmPaths(path.dirname(entry) + path.sep);
  wasmPathsSet = true;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'not installed';
    return error.message.split('\n')[0] ?? error.message;
  }
  return String(error);
}

/** Try one backend; returns null on success, else the reason it cannot be used. */
async function tryBackend(name: BackendName, importer: (s: string) => Promise<unknown>): Promise<string | null> {
  const pkg = NODE_PACKAGES[name];
  if (pkg !== undefined) {
    try {
      await importer(pkg);
    } catch (error) {
      return describe(error);
    }
    if (tf.findBackendFactory('tensorflow') === null)
      return `${pkg} loaded but registered no 'tensorflow' backend (a second copy of @tensorflow/tfjs-core?)`;
    return (await setBackendQuietly('tensorflow'))
      ? null
      : `${pkg} loaded but the 'tensorflow' backend failed to initialise`;
  }
  if (name === 'wasm') {
    try {
      pointWasmAtPackage();
    } catch (error) {
      return describe(error);
    }
    return (await setBackendQuietly('wasm')) ? null : 'the wasm backend failed to initialise';
  }
  return (await setBackendQuietly('cpu')) ? null : 'the cpu backend failed to initialise';
}

async function setBackendQuietly(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/**
 * Choose and initialise the tensor backend. Without `force`, tries tfjs-node-gpu, tfjs-node, wasm, cpu in that
 * order and keeps the first that loads; the report lists every better one that was skipped and why. With
 * `force`, only that backend is tried (the others are reported as "not forced") and failure throws.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendReport> {
  const importer = options.importer ?? ((specifier: string) => import(specifier));
  const skipped: BackendSkip[] = [];
  const order = options.force === undefined ? BACKENDS : [options.force];
  let chosen: BackendName | undefined;
  for (const name of order) {
    const reason = await tryBackend(name, importer);
    if (reason === null) {
      chosen = name;
      break;
    }
    if (options.force !== undefined) throw new Error(`backend '${name}' was forced but cannot be used: ${reason}`);
    skipped.push({ backend: name, reason });
  }
  if (chosen === undefined)
    throw new Error(
      `no tensor backend could be initialised: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
    );
  if (options.force !== undefined) {
    for (const name of BACKENDS) {
      if (name === options.force) break;
      skipped.push({ backend: name, reason: `not forced (forced '${options.force}')` });
    }
  }
  const tfBackend = tf.getBackend();
  const report: BackendReport = {
    type: 'backend',
    chosen,
    tfBackend,
    forced: options.force !== undefined,
    skipped,
    tfjsVersion: tf.version_core,
    ...gpuInfo(chosen),
    ...(chosen === 'wasm'
      ? { wasm: { threads: getThreadsCount(), simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true } }
      : {}),
  };
  return report;
}

function gpuInfo(chosen: BackendName): { gpuDevice?: boolean } {
  if (chosen !== 'tfjs-node-gpu' && chosen !== 'tfjs-node') return {};
  const flag = (tf.backend() as unknown as { isUsingGpuDevice?: unknown }).isUsingGpuDevice;
  return typeof flag === 'boolean' ? { gpuDevice: flag } : {};
}

/** One line for a terminal: `backend wasm (threads 1, simd) — skipped tfjs-node-gpu: not installed; …`. */
export function formatBackendReport(report: BackendReport): string {
  const detail =
    report.wasm !== undefined
      ? ` (threads ${report.wasm.threads}${report.wasm.simd ? ', simd' : ''})`
      : report.gpuDevice !== undefined
        ? ` (gpu device: ${report.gpuDevice ? 'yes' : 'no'})`
        : '';
  const skips = report.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  return `backend ${report.chosen}${detail}${report.forced ? ' [forced]' : ''}${skips ? ` — skipped ${skips}` : ''}`;
}
