import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { attentionMask, columnPositions, leftPad } from '../../src/gpu/layout.js';
import { Gpt, initWeights, type GptConfig } from '../../src/gpu/model.js';
import { exportOnnx } from '../../src/gpu/onnx.js';
import { createOrtSessions, OrtDecoder, OrtRollout, type OrtSessions } from '../../src/gpu/rollout.js';
import { sample, TfjsDecoder, type IncrementalDecoder } from '../../src/gpu/sampler.js';
import { WeightBoard } from '../../src/gpu/weights.js';
import { BOS, HashConstraint } from './toy.js';

const base: GptConfig = { vocabSize: 24, contextLength: 32, layers: 2, width: 32, heads: 4 };

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Prefill left-padded prompts, then feed `steps` more columns one at a time; all logits, concatenated. */
async function trace(decoder: IncrementalDecoder, prompts: number[][], steps: number[][]): Promise<Float32Array[]> {
  // (contextLength is the same in every config below)
  const L = leftPad(prompts);
  decoder.reset();
  const out = [await decoder.feed(L.tokens, L.positions, attentionMask(L.pads, 0, L.width), L.batch, L.width)];
  for (let s = 0; s < steps.length; s++) {
    const column = L.width + s;
    out.push(
      await decoder.feed(
        Int32Array.from(steps[s]!),
        columnPositions(L.pads, column, 1, base.contextLength),
        attentionMask(L.pads, column, 1),
        L.batch,
        1,
      ),
    );
  }
  decoder.reset();
  return out;
}

for (const [positions, outputHead] of [
  ['learned', 'tied'],
  ['rope', 'tied'],
  ['rope', 'untied'],
] as const)
  describe(`ONNX export + onnxruntime (${positions} positions, ${outputHead} output head)`, () => {
    const config: GptConfig = { ...base, positions, ...(outputHead === 'untied' ? { outputHead } : {}) };
    let model: Gpt;
    let sessions: OrtSessions;

    beforeAll(async () => {
      await initBackend({ force: 'wasm' });
      model = Gpt.init(config, new Rng(21));
      sessions = await createOrtSessions(config);
    });
    afterAll(async () => {
      model.dispose();
      await sessions.prefill.release();
      await sessions.decode.release();
    });
    it('gives the same logits as tfjs (≤ 1e-4) for the same weights and padded prompts, with and without the cache', async () => {
      const prompts = [
        [BOS, 5, 6, 7, 8, 9, 10],
        [BOS, 11],
        [BOS, 12, 13, 14],
      ];
      // 40 cached steps: past the ORT decoder's first cache capacity (the context, 32 slots), so its buffers grow once
      const steps = Array.from({ length: 40 }, (_, s) => [4 + (s % 20), 4 + ((3 * s) % 20), 4 + ((7 * s) % 20)]);
      const tfjs = await trace(new TfjsDecoder(model), prompts, steps);
      const onnx = await trace(new OrtDecoder(sessions, config, model.readWeights()), prompts, steps);
      // pad columns' outputs are unused garbage (their queries see no key), so the prefill is compared on real columns
      const V = config.vocabSize;
      const L = leftPad(prompts);
      const real = (x: Float32Array) =>
        Float32Array.from(
          prompts.flatMap((_, r) => Array.from(x.subarray((r * L.width + L.pads[r]!) * V, (r + 1) * L.width * V))),
        );
      let worst = maxAbsDiff(real(tfjs[0]!), real(onnx[0]!));
      for (let i = 1; i < tfjs.length; i++) worst = Math.max(worst, maxAbsDiff(tfjs[i]!, onnx[i]!));
      expect(worst).toBeLessThanOrEqual(1e-4);
      expect(tfjs[0]!.length).toBe(3 * 7 * V);
      expect(real(tfjs[0]!).length).toBe((7 + 2 + 4) * V);
    });

    it('agrees with tfjs when several columns are fed at once after the prefill', async () => {
      const prompts = [
        [BOS, 5, 6, 7],
        [BOS, 8],
      ];
      const L = leftPad(prompts);
      const chunk = async (decoder: IncrementalDecoder): Promise<Float32Array> => {
        decoder.reset();
        await decoder.feed(L.tokens, L.positions, attentionMask(L.pads, 0, L.width), 2, L.width);
        const out = await decoder.feed(
          Int32Array.from([9, 10, 11, 12, 13, 14]),
          columnPositions(L.pads, L.width, 3, config.contextLength),
          attentionMask(L.pads, L.width, 3),
          2,
          3,
        );
        decoder.reset();
        return out;
      };
      const a = await chunk(new TfjsDecoder(model));
      const b = await chunk(new OrtDecoder(sessions, config, model.readWeights()));
      expect(a.length).toBe(2 * 3 * config.vocabSize);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-4);
    });

    it('samples the same constrained completions as tfjs for the same seed', async () => {
      const board = new WeightBoard();
      board.publish(0, model.readWeights());
      const rollout = await OrtRollout.create(config, board);
      const rng = new Rng(4);
      const prompts = Array.from({ length: 32 }, () => [
        BOS,
        ...Array.from({ length: 1 + rng.int(8) }, () => 4 + rng.int(20)),
      ]);
      const requests = () =>
        prompts.map((p, i) => ({ prompt: p, constraint: new HashConstraint(config.vocabSize, i, 12) }));
      const viaOrt = await rollout.sample(requests(), { rng: new Rng(9), maxNewTokens: 12 });
      const viaTfjs = await sample(model, requests(), { rng: new Rng(9), maxNewTokens: 12 });
      expect(viaOrt.completions.map((c) => c.tokens)).toEqual(viaTfjs.map((c) => c.tokens));
      viaOrt.completions.forEach((c, i) =>
        c.logProbs.forEach((lp, t) => expect(Math.abs(lp - viaTfjs[i]!.logProbs[t]!)).toBeLessThan(1e-4)),
      );
      await rollout.release();
    });

    it('uses the newest published version before each batch and stamps every completion with it', async () => {
      const board = new WeightBoard();
      const rollout = await OrtRollout.create(config, board);
      const requests = () => [{ prompt: [BOS, 5] }, { prompt: [BOS, 6, 7] }];
      await expect(rollout.sample(requests(), { rng: new Rng(1), maxNewTokens: 4 })).rejects.toThrow(/no weights/);
      board.publish(0, model.readWeights());
      const first = await rollout.sample(requests(), { rng: new Rng(1), maxNewTokens: 4 });
      expect(first.version).toBe(0);
      expect(first.completions.every((c) => c.version === 0)).toBe(true);
      const other = Gpt.init(config, new Rng(22));
      board.publish(5, other.readWeights());
      const second = await rollout.sample(requests(), { rng: new Rng(1), maxNewTokens: 4 });
      expect(second.version).toBe(5);
      expect(second.completions.map((c) => c.version)).toEqual([5, 5]);
      // version 5 really is the other weights: it samples what tfjs samples with them
      expect(second.completions.map((c) => c.tokens)).toEqual(
        (await sample(other, requests(), { rng: new Rng(1), maxNewTokens: 4 })).map((c) => c.tokens),
      );
      expect(() => board.publish(5, other.readWeights())).toThrow(/not newer/);
      other.dispose();
      await rollout.release();
    });

    it('can bake the weights in as initializers for a standalone file', async () => {
      const weights = initWeights(config, new Rng(21));
      const standalone = await ort.InferenceSession.create(exportOnnx(config, 'prefill', weights));
      const L = leftPad([[BOS, 4, 5]]);
      const feeds: Record<string, ort.Tensor> = {
        tokens: new ort.Tensor('int32', L.tokens, [1, 3]),
        positions: new ort.Tensor('int32', L.positions, [1, 3]),
        mask: new ort.Tensor('float32', attentionMask(L.pads, 0, 3), [1, 1, 3, 3]),
      };
      const baked = (await standalone.run(feeds, ['logits'])).logits!.data as Float32Array;
      const fed = await trace(new OrtDecoder(sessions, config, weights), [[BOS, 4, 5]], []);
      expect(maxAbsDiff(baked, fed[0]!)).toBeLessThan(1e-5);
      await standalone.release();
    });
  });
