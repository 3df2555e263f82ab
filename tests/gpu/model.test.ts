import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { attentionMask, columnPositions, leftPad } from '../../src/gpu/layout.js';
import { disposeCache, Gpt, initWeights, paramSpecs, type GptConfig, type LayerCache } from '../../src/gpu/model.js';

const config: GptConfig = { vocabSize: 20, contextLength: 16, layers: 2, width: 32, heads: 4 };
let model: Gpt;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  model = Gpt.init(config, new Rng(7));
});
afterAll(() => model.dispose());

/** Logits [B, T, V] of left-padded prompts through the plain (uncached) forward. */
function logitsOf(m: Gpt, prompts: number[][]): number[][][] {
  const L = leftPad(prompts);
  return tf.tidy(() => {
    const { logits } = m.forward(
      tf.tensor2d(L.tokens, [L.batch, L.width], 'int32'),
      tf.tensor2d(L.positions, [L.batch, L.width], 'int32'),
      tf.tensor4d(attentionMask(L.pads, 0, L.width), [L.batch, 1, L.width, L.width]),
    );
    return logits.arraySync();
  });
}

describe('parameters', () => {
  it('are a named, ordered list: embeddings, then each block, then the final LayerNorm', () => {
    const names = model.params.map((p) => p.spec.name);
    expect(names.slice(0, 4)).toEqual(['wte', 'wpe', 'h0.ln1.g', 'h0.ln1.b']);
    expect(names.at(-1)).toBe('lnf.b');
    expect(names).toEqual(paramSpecs(config).map((s) => s.name));
    expect(new Set(names).size).toBe(names.length);
    // 2 embeddings + 12 per block + 2 final
    expect(names).toHaveLength(2 + 12 * config.layers + 2);
    const d = config.width;
    const perBlock = 2 * d + 3 * d * d + 3 * d + d * d + d + 2 * d + 4 * d * d + 4 * d + 4 * d * d + d;
    expect(model.parameterCount).toBe(
      config.vocabSize * d + config.contextLength * d + config.layers * perBlock + 2 * d,
    );
  });

  it('are initialised from the seed alone', () => {
    const a = initWeights(config, new Rng(7));
    const b = initWeights(config, new Rng(7));
    const c = initWeights(config, new Rng(8));
    expect(a.map((w) => Array.from(w.data))).toEqual(b.map((w) => Array.from(w.data)));
    expect(Array.from(a[0]!.data)).not.toEqual(Array.from(c[0]!.data));
    const wte = a[0]!.data;
    const std = Math.sqrt(wte.reduce((s, x) => s + x * x, 0) / wte.length);
    expect(std).toBeGreaterThan(0.017);
    expect(std).toBeLessThan(0.023);
    expect(Array.from(a.find((w) => w.name === 'h0.ln1.g')!.data).every((x) => x === 1)).toBe(true);
  });

  it('round-trip through readWeights / writeWeights', () => {
    const other = Gpt.init(config, new Rng(99));
    other.writeWeights(model.readWeights());
    expect(logitsOf(other, [[1, 2, 3]])).toEqual(logitsOf(model, [[1, 2, 3]]));
    other.dispose();
  });

  it('reject weights of another shape', () => {
    const wrong = initWeights({ ...config, width: 16, heads: 2 }, new Rng(1));
    expect(() => model.writeWeights(wrong)).toThrow(/shape/);
  });
});

describe('rotary positions', () => {
  const rope: GptConfig = { ...config, positions: 'rope' };

  it('have no position embedding: the parameters are those of learned positions without wpe', () => {
    const names = paramSpecs(rope).map((p) => p.name);
    expect(names).toEqual(
      paramSpecs(config)
        .map((p) => p.name)
        .filter((n) => n !== 'wpe'),
    );
    const m = Gpt.init(rope, new Rng(3));
    expect(m.parameterCount).toBe(Gpt.init(config, new Rng(3)).parameterCount - config.contextLength * config.width);
    m.dispose();
  });

  it('are relative: shifting every position by the same amount leaves the logits unchanged (learned ones do not)', () => {
    const shifted = (m: Gpt, by: number) =>
      tf.tidy(() => {
        const tokens = [1, 5, 9, 2, 7, 3];
        const T = tokens.length;
        const positions = Int32Array.from(tokens, (_, j) => j + by);
        const { logits } = m.forward(
          tf.tensor2d(tokens, [1, T], 'int32'),
          tf.tensor2d(positions, [1, T], 'int32'),
          tf.tensor4d(attentionMask(new Int32Array(1), 0, T), [1, 1, T, T]),
        );
        return logits.dataSync() as Float32Array;
      });
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
    const r = Gpt.init(rope, new Rng(4));
    expect(diff(shifted(r, 0), shifted(r, 7))).toBeLessThan(1e-4);
    // past the context (16): angles computed on the spot instead of read from the model's table
    expect(diff(shifted(r, 0), shifted(r, 20))).toBeLessThan(1e-4);
    const l = Gpt.init(config, new Rng(4));
    expect(diff(shifted(l, 0), shifted(l, 7))).toBeGreaterThan(1e-3);
    r.dispose();
    l.dispose();
  });

  it('need an even head width', () => {
    expect(() => Gpt.init({ ...rope, width: 12, heads: 4 }, new Rng(1))).toThrow(/even head width/);
  });
});

for (const positions of ['learned', 'rope'] as const)
  describe(`forward (${positions} positions)`, () => {
    let model: Gpt;
    beforeAll(() => {
      model = Gpt.init({ ...config, positions }, new Rng(7));
    });
    afterAll(() => model.dispose());

    it('does not depend on the batch: a left-padded row equals the same prompt alone', () => {
      const alone = logitsOf(model, [[5, 6, 7]])[0]!;
      const batched = logitsOf(model, [
        [1, 2, 3, 4, 9, 10],
        [5, 6, 7],
      ])[1]!;
      for (let t = 0; t < 3; t++) {
        const diff = Math.max(...alone[t]!.map((v, i) => Math.abs(v - batched[t + 3]![i]!)));
        expect(diff).toBeLessThan(1e-5);
      }
    });

    it("with `tail`, gives the last positions' logits of the full forward (the head runs on those alone)", () => {
      const prompts = [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
      ];
      const full = logitsOf(model, prompts);
      const L = leftPad(prompts);
      const tail = tf.tidy(() =>
        model
          .forward(
            tf.tensor2d(L.tokens, [2, L.width], 'int32'),
            tf.tensor2d(L.positions, [2, L.width], 'int32'),
            tf.tensor4d(attentionMask(L.pads, 0, L.width), [2, 1, L.width, L.width]),
            {
              tail: 4,
            },
          )
          .logits.arraySync(),
      );
      expect(tail.map((row) => row.length)).toEqual([4, 4]);
      for (const r of [0, 1])
        for (let t = 0; t < 4; t++)
          expect(Math.max(...tail[r]![t]!.map((v, i) => Math.abs(v - full[r]![L.width - 4 + t]![i]!)))).toBeLessThan(
            1e-5,
          );
      expect(() =>
        model.forward(
          tf.tensor2d([1, 2], [1, 2], 'int32'),
          tf.tensor2d([0, 1], [1, 2], 'int32'),
          tf.tensor4d(attentionMask([0], 0, 2), [1, 1, 2, 2]),
          { tail: 3 },
        ),
      ).toThrow(/tail/);
    });

    it('is causal: later tokens do not change earlier logits', () => {
      const a = logitsOf(model, [[1, 2, 3, 4]])[0]!;
      const b = logitsOf(model, [[1, 2, 9, 9]])[0]!;
      expect(a[1]).toEqual(b[1]);
      expect(a[2]).not.toEqual(b[2]);
    });

    it('with the KV cache, one token at a time gives the full-sequence logits', () => {
      const prompts = [
        [1, 2, 3, 4, 5],
        [6, 7],
      ];
      const more = [
        [8, 9, 10],
        [11, 12, 13],
      ];
      const full = logitsOf(
        model,
        prompts.map((p, i) => [...p, ...more[i]!]),
      );
      const L = leftPad(prompts);
      /** One cached forward; the input tensors are freed, the caller owns logits and the new cache. */
      const run = (tokens: number[], positions: Int32Array, mask: Float32Array, count: number, past: LayerCache[]) => {
        const inputs = [
          tf.tensor2d(tokens, [2, count], 'int32'),
          tf.tensor2d(positions, [2, count], 'int32'),
          tf.tensor4d(mask, [2, 1, count, mask.length / (2 * count)]),
        ] as const;
        const out = model.forward(inputs[0], inputs[1], inputs[2], { past, returnCache: true, lastOnly: true });
        for (const t of inputs) t.dispose();
        disposeCache(past);
        const logits = out.logits.arraySync();
        out.logits.dispose();
        return { logits, cache: out.present };
      };
      let { cache } = run(Array.from(L.tokens), L.positions, attentionMask(L.pads, 0, L.width), L.width, []);
      for (let s = 0; s < 3; s++) {
        const column = L.width + s;
        const step = run(
          more.map((m) => m[s]!),
          columnPositions(L.pads, column, 1, config.contextLength),
          attentionMask(L.pads, column, 1),
          1,
          cache,
        );
        cache = step.cache;
        // row 0 has no padding, row 1 has 3 pad columns in the full batch too
        for (const r of [0, 1]) {
          const diff = Math.max(...step.logits[r]![0]!.map((v, i) => Math.abs(v - full[r]![column]![i]!)));
          expect(diff).toBeLessThan(1e-5);
        }
      }
      disposeCache(cache);
    });
  });
