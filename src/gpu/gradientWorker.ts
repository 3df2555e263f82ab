// A gradient thread (entry of gradientWorkers.ts's workers): holds a copy of the model (and, for the KL anchor, of
// the frozen reference) and, per request, loads the weights it is sent and returns the gradient of its shard of a
// supervised batch or of a policy step.

import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../azr/rng.js';
import { initBackend, type BackendName } from './backend.js';
import { policyShardGradients, supervisedShardGradients, type PolicyShard, type SupervisedSample } from './learner.js';
import { Gpt, initWeights, type GptConfig, type Weights } from './model.js';

interface Init {
  readonly config: GptConfig;
  readonly backend: BackendName;
  /** The frozen reference model's weights (policy shards with klCoef > 0 need it). */
  readonly reference: Weights | null;
}

/** A request: weights to load and the shard (a supervised one with the whole batch's predicted-token count, or a policy one). */
export type GradientRequest =
  | {
      readonly kind: 'supervised';
      readonly id: number;
      readonly weights: Weights;
      readonly samples: readonly SupervisedSample[];
      readonly normalizer: number;
    }
  | { readonly kind: 'policy'; readonly id: number; readonly weights: Weights; readonly shard: PolicyShard };

const port = parentPort;
if (port === null) throw new Error('gradientWorker.ts runs as a worker thread');
const init = (workerData as { data: Init }).data;
await initBackend({ force: init.backend });
// the weights are replaced by every request's; these only give the variables their shapes
const model = new Gpt(init.config, initWeights(init.config, new Rng(0)), { name: 'gradient-thread' });
const reference =
  init.reference === null
    ? null
    : new Gpt(init.config, init.reference, { trainable: false, name: 'gradient-thread-reference' });
port.on('message', (r: GradientRequest) => {
  try {
    model.writeWeights(r.weights);
    const result =
      r.kind === 'supervised'
        ? supervisedShardGradients(model, r.samples, r.normalizer)
        : policyShardGradients(model, reference, r.shard);
    // the gradients are copies (not views of wasm memory), so their buffers can be transferred
    port.postMessage(
      { id: r.id, ok: true, result },
      result.grads.map((g) => g.buffer as ArrayBuffer),
    );
  } catch (e) {
    port.postMessage({ id: r.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
port.postMessage({ ready: true });
