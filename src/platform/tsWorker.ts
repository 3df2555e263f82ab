// Starts a worker thread from a TypeScript module, under vitest, tsx or plain node alike.
import { Worker, type WorkerOptions } from 'node:worker_threads';

const boot = new URL('./tsWorkerBoot.mjs', import.meta.url);

/**
 * `new Worker` for a `.ts` entry. Node 20 does not pass `--import` loaders to workers, so a plain-JS
 * bootstrap registers tsx inside the worker and then imports the entry. The entry reads its own data
 * from `workerData.data`.
 */
export function startTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  return new Worker(boot, { ...options, workerData: { tsEntry: entry.href, data: options.workerData } });
}
