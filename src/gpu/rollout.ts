// The rollout engine: onnxruntime-node runs the exported GPT with a KV cache; weights come from the board by version.

import * as ort from 'onnxruntime-node';
import { decode, type Completion, type DecodeOptions, type IncrementalDecoder, type SampleRequest } from './sampler.js';
import { checkWeights, type GptConfig, type Weights } from './model.js';
import { MASKED } from './layout.js';
import { exportOnnx, onnxNames } from './onnx.js';
import type { WeightBoard } from './weights.js';

interface OrtRolloutOptions {
  /** onnxruntime intra-op threads (default 1: on 2 cores the learner and the executors need the other one). */
  readonly intraOpThreads?: number;
}

/** A completion stamped with the weight version that produced it. */
interface VersionedCompletion extends Completion {
  readonly version: number;
}

interface RolloutBatch {
  /** The weight version used for the whole batch. */
  readonly version: number;
  readonly completions: VersionedCompletion[];
}

/** The two sessions a decoder needs (see onnx.ts): one for a fresh batch, one for one-column steps. */
export interface OrtSessions {
  readonly prefill: ort.InferenceSession;
  readonly decode: ort.InferenceSession;
}

/**
 * onnxruntime as an incremental decoder, fed fixed weights and keeping its own KV cache: fixed-capacity JS buffers
 * `[B, H, capacity, hd]` per layer (grown by doubling when full), passed whole to every run without a copy; each
 * run returns only the new columns' keys/values, which are written into the next free slots. The first feed after
 * `reset()` runs the prefill graph; later columns run the decode graph one at a time.
 */
export class OrtDecoder implements IncrementalDecoder {
  private cache: { k: Float32Array; v: Float32Array }[] = [];
  private capacity = 0;
  private cached = 0;
  private batch = 0;
  private readonly weightFeeds: Record<string, ort.Tensor>;

  constructor(
    private readonly sessions: OrtSessions,
    private readonly config: GptConfig,
    weights: Weights,
  ) {
    checkWeights(config, weights);
    this.weightFeeds = Object.fromEntries(
      weights.map((w) => [w.name, new ort.Tensor('float32', w.data, [...w.shape])]),
    );
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }
  get contextLength(): number {
    return this.config.contextLength;
  }

  reset(): void {
    this.cache = [];
    this.capacity = 0;
    this.cached = 0;
    this.batch = 0;
  }

  /** Make room for `needed` slots per row, keeping what is cached. */
  private reserve(batch: number, needed: number): void {
    if (needed <= this.capacity) return;
    const { layers, heads, width } = this.config;
    const hd = width / heads;
    const capacity = Math.max(needed, 2 * this.capacity, this.config.contextLength);
    const rows = batch * heads;
    for (let i = 0; i < layers; i++) {
      const old = this.cache[i];
      const grown = { k: new Float32Array(rows * capacity * hd), v: new Float32Array(rows * capacity * hd) };
      if (old !== undefined) {
        for (let r = 0; r < rows; r++) {
          grown.k.set(
            old.k.subarray(r * this.capacity * hd, (r * this.capacity + this.cached) * hd),
            r * capacity * hd,
          );
          grown.v.set(
            old.v.subarray(r * this.capacity * hd, (r * this.capacity + this.cached) * hd),
            r * capacity * hd,
          );
        }
      }
      this.cache[i] = grown;
    }
    this.capacity = capacity;
  }

  /** Append a run's new keys/values (`[B, H, count, hd]` per layer) to the cache. */
  private append(out: ort.InferenceSession.ReturnType, batch: number, count: number): void {
    const { layers, heads, width } = this.config;
    const hd = width / heads;
    const C = this.capacity;
    for (let i = 0; i < layers; i++) {
      const c = this.cache[i]!;
      const newK = output(out, onnxNames.newK(i)).data as Float32Array;
      const newV = output(out, onnxNames.newV(i)).data as Float32Array;
      for (let r = 0; r < batch * heads; r++) {
        c.k.set(newK.subarray(r * count * hd, (r + 1) * count * hd), (r * C + this.cached) * hd);
        c.v.set(newV.subarray(r * count * hd, (r + 1) * count * hd), (r * C + this.cached) * hd);
      }
    }
    this.cached += count;
  }

  async feed(
    tokens: Int32Array,
    positions: Int32Array,
    mask: Float32Array,
    batch: number,
    count: number,
  ): Promise<Float32Array> {
    if (this.cached > 0 && batch !== this.batch)
      throw new Error(`batch changed from ${this.batch} to ${batch} without reset()`);
    this.batch = batch;
    this.reserve(batch, this.cached + count);
    if (this.cached === 0) {
      const out = await this.sessions.prefill.run({
        ...this.weightFeeds,
        [onnxNames.tokens]: new ort.Tensor('int32', tokens, [batch, count]),
        [onnxNames.positions]: new ort.Tensor('int32', positions, [batch, count]),
        [onnxNames.mask]: new ort.Tensor('float32', mask, [batch, 1, count, count]),
      });
      this.append(out, batch, count);
      return output(out, onnxNames.logits).data as Float32Array;
    }
    const { vocabSize: V, layers, heads, width } = this.config;
    const hd = width / heads;
    const keys = this.cached + count; // keys per mask row in the caller's layout
    const logits = count === 1 ? null : new Float32Array(batch * count * V);
    let last: Float32Array = new Float32Array(0);
    for (let j = 0; j < count; j++) {
      const C = this.capacity;
      const filled = this.cached; // = columns before this one
      // the caller's mask row for column j, re-laid over [C slots, the new column]
      const slotted = new Float32Array(batch * (C + 1)).fill(MASKED);
      const column = (src: Int32Array): Int32Array =>
        count === 1 ? src : Int32Array.from({ length: batch }, (_, b) => src[b * count + j] as number);
      for (let b = 0; b < batch; b++) {
        const row = (b * count + j) * keys;
        slotted.set(mask.subarray(row, row + filled), b * (C + 1));
        slotted[b * (C + 1) + C] = mask[row + filled] as number;
      }
      const feeds: Record<string, ort.Tensor> = {
        ...this.weightFeeds,
        [onnxNames.tokens]: new ort.Tensor('int32', column(tokens), [batch, 1]),
        [onnxNames.positions]: new ort.Tensor('int32', column(positions), [batch, 1]),
        [onnxNames.mask]: new ort.Tensor('float32', slotted, [batch, 1, 1, C + 1]),
      };
      for (let i = 0; i < layers; i++) {
        feeds[onnxNames.pastK(i)] = new ort.Tensor('float32', this.cache[i]!.k, [batch, heads, C, hd]);
        feeds[onnxNames.pastV(i)] = new ort.Tensor('float32', this.cache[i]!.v, [batch, heads, C, hd]);
      }
      const out = await this.sessions.decode.run(feeds);
      this.append(out, batch, 1);
      last = output(out, onnxNames.logits).data as Float32Array;
      if (logits !== null)
        for (let b = 0; b < batch; b++) logits.set(last.subarray(b * V, (b + 1) * V), (b * count + j) * V);
    }
    return logits ?? last;
  }

  dispose(): void {
    this.reset();
  }
}

function output(out: ort.InferenceSession.ReturnType, name: string): ort.Tensor {
  const t = out[name];
  if (t === undefined) throw new Error(`onnxruntime returned no '${name}'`);
  return t;
}

/** Create the prefill and decode sessions for `config` (weights are inputs, so they serve every version). */
export async function createOrtSessions(config: GptConfig, options: OrtRolloutOptions = {}): Promise<OrtSessions> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const [prefill, decode] = await Promise.all([
    ort.InferenceSession.create(exportOnnx(config, 'prefill'), sessionOptions),
    ort.InferenceSession.create(exportOnnx(config, 'decode'), sessionOptions),
  ]);
  return { prefill, decode };
}

/**
 * Samples batches with onnxruntime from the newest weights on the board. Before each batch it reads the board
 * once; the whole batch uses that version and every completion is stamped with it. Batches run one at a time.
 */
export class OrtRollout {
  private decoder: { version: number; decoder: OrtDecoder } | null = null;
  private running: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly sessions: OrtSessions,
    readonly config: GptConfig,
    private readonly board: WeightBoard,
  ) {}

  static async create(config: GptConfig, board: WeightBoard, options: OrtRolloutOptions = {}): Promise<OrtRollout> {
    return new OrtRollout(await createOrtSessions(config, options), config, board);
  }

  /** The decoder for the newest published version (a sync costs only wrapping the new arrays). */
  current(): { version: number; decoder: OrtDecoder } {
    const published = this.board.latest();
    if (published === null) throw new Error('no weights have been published to the rollout engine yet');
    if (this.decoder === null || this.decoder.version !== published.version) {
      this.decoder = {
        version: published.version,
        decoder: new OrtDecoder(this.sessions, this.config, published.weights),
      };
    }
    return this.decoder;
  }

  /** Sample completions for `requests` with the newest weights (see sampler.ts for the distribution). */
  sample(requests: readonly SampleRequest[], options: DecodeOptions): Promise<RolloutBatch> {
    const run = this.running.then(async () => {
      const { version, decoder } = this.current();
      const completions = await decode(decoder, requests, options);
      return { version, completions: completions.map((c) => ({ ...c, version })) };
    });
    this.running = run.catch(() => undefined);
    return run;
  }

  async release(): Promise<void> {
    await this.running;
    this.decoder = null;
    await this.sessions.prefill.release();
    await this.sessions.decode.release();
  }
}
