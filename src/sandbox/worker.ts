// Worker-thread entry of the sandbox pool: one QuickJS engine per thread, runs batches of jobs in order.
import { parentPort, workerData } from 'node:worker_threads';
import { QuickJsEngine } from './engine.js';
import type { FromWorker, RunResult, ToWorker, WorkerConfig } from './types.js';

const port = parentPort!;
const config = (workerData as { data: WorkerConfig }).data;
const progress = new Int32Array(config.progress);

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

let engine: QuickJsEngine;
try {
  engine = await QuickJsEngine.create(config.engine, config.wasm);
} catch (e) {
  post({ type: 'fatal', message: `cannot start QuickJS: ${(e as Error).message}` });
  process.exit(1);
}

port.on('message', (msg: ToWorker) => {
  const results: RunResult[] = [];
  for (let i = 0; i < msg.jobs.length; i++) {
    // The main thread's watchdog reads this slot: which job of the batch is running right now.
    Atomics.store(progress, 0, i + 1);
    results.push(engine.runJob(msg.jobs[i]!));
    if (engine.broken) {
      // The pool fails the job in the progress slot and re-queues the rest of the batch.
      post({ type: 'fatal', message: 'the QuickJS engine failed and could not be restarted' });
      process.exit(1);
    }
  }
  Atomics.store(progress, 0, 0);
  post({ type: 'results', id: msg.id, results });
});

post({ type: 'ready' });
