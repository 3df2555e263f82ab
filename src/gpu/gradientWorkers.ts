// Data-parallel gradients: worker threads, each with its own copy of the model on the same tensor backend, compute
// the gradients of their shards of a batch while the main thread computes its own (Learner.supervisedStepParallel
// and policyStepParallel sum them and step once). tfjs-wasm is single-threaded in Node, so this is how a
// training step uses more than one core.

import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../platform/tsWorker.js';
import type { BackendName } from './backend.js';
import type { GradientRequest } from './gradientWorker.js';
import type {
  GradientThreads,
  PolicyShard,
  PolicyShardResult,
  SupervisedSample,
  SupervisedShardResult,
} from './learner.js';
import type { GptConfig, Weights } from './model.js';

type Reply<R> = { id: number; ok: true; result: R } | { id: number; ok: false; error: string };

/** A request without its id (the pool numbers them). */
type Work = GradientRequest extends infer R ? (R extends GradientRequest ? Omit<R, 'id'> : never) : never;

export class GradientWorkers implements GradientThreads {
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly workers: readonly Worker[],
    readonly hasReference: boolean,
  ) {}

  /**
   * Starts `count` gradient threads for models of `config` on `backend` (the backend the main thread chose); with
   * `reference`, each also holds that frozen model (policy steps with a KL anchor need it).
   */
  static async start(
    config: GptConfig,
    backend: BackendName,
    count: number,
    options: { reference?: Weights } = {},
  ): Promise<GradientWorkers> {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`gradient threads must be a whole number ≥ 0, got ${count}`);
    const reference = options.reference ?? null;
    const workers = Array.from({ length: count }, () =>
      startTsWorker(new URL('./gradientWorker.ts', import.meta.url), { workerData: { config, backend, reference } }),
    );
    try {
      // all start at once; each is ready once it has loaded its backend and model
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              const onExit = (code: number) =>
                reject(new Error(`a gradient thread exited (code ${code}) while starting`));
              w.once('message', () => {
                w.off('error', reject);
                w.off('exit', onExit);
                resolve();
              });
              w.once('error', reject);
              w.once('exit', onExit);
            }),
        ),
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new GradientWorkers(workers, reference !== null);
  }

  get size(): number {
    return this.workers.length;
  }

  gradients(
    weights: Weights,
    shards: readonly (readonly SupervisedSample[])[],
    normalizer: number,
  ): Promise<SupervisedShardResult[]> {
    return this.run<SupervisedShardResult>(
      shards.map((samples) => ({ kind: 'supervised', weights, samples, normalizer })),
    );
  }

  policyGradients(weights: Weights, shards: readonly PolicyShard[]): Promise<PolicyShardResult[]> {
    return this.run<PolicyShardResult>(shards.map((shard) => ({ kind: 'policy', weights, shard })));
  }

  /** Work item i to worker i; the results in order. */
  private run<R>(work: readonly Work[]): Promise<R[]> {
    if (this.closed) return Promise.reject(new Error('the gradient threads are closed'));
    if (work.length > this.workers.length)
      return Promise.reject(new RangeError(`${work.length} shards for ${this.workers.length} gradient threads`));
    return Promise.all(
      work.map(
        (item, i) =>
          new Promise<R>((resolve, reject) => {
            const w = this.workers[i]!;
            const id = this.nextId++;
            const onMessage = (m: Reply<R>) => {
              if (m.id !== id) return;
              cleanup();
              if (m.ok) resolve(m.result);
              else reject(new Error(`gradient thread ${i}: ${m.error}`));
            };
            const onError = (e: Error) => {
              cleanup();
              reject(e);
            };
            const onExit = (code: number) => {
              cleanup();
              reject(new Error(`gradient thread ${i} exited (code ${code})`));
            };
            const cleanup = () => {
              w.off('message', onMessage);
              w.off('error', onError);
              w.off('exit', onExit);
            };
            w.on('message', onMessage);
            w.once('error', onError);
            w.once('exit', onExit);
            w.postMessage({ ...item, id } as GradientRequest);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
