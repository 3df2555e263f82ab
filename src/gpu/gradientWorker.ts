// A gradient thread (entry of gradientWorkers.ts's workers): holds a copy of the model and, per request, loads the
// weights it is sent and returns the gradient of its shard of a supervised batch.

import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../azr/rng.js';
import { initBackend, type BackendName } from './backend.js';
import { supervisedShardGradients, type SupervisedSample } from './learner.js';
import { Gpt, initWeights, type GptConfig, type Weights } from './model.js';

interface Init {
  readonly config: GptConfig;
  readonly backend: BackendName;
}

/** A request: weights to load, the shard, the whole batch's predicted-token count. */
export interface GradientRequest {
  readonly id: number;
  readonly weights: Weights;
  readonly samples: readonly SupervisedSample[];
  readonly normalizer: number;
}

const port = parentPort;
if (port === null) throw new Error('gradientWorker.ts runs as a worker thread');
const init = (workerData as { data: Init }).data;
await initBackend({ force: init.backend });
// the weights are replaced by every request's; these only give the variables their shapes
const model = new Gpt(init.config, initWeights(init.config, new Rng(0)), { name: 'gradient-thread' });
port.on('message', (r: GradientRequest) => {
  try {
    model.writeWeights(r.weights);
    const result = supervisedShardGradients(model, r.samples, r.normalizer);
    // the gradients are copies (not views of wasm memory), so their buffers can be transferred
    port.postMessage({ id: r.id, ok: true, result }, result.grads.map((g) => g.buffer as ArrayBuffer));
  } catch (e) {
    port.postMessage({ id: r.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
port.postMessage({ ready: true });
