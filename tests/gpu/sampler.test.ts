import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { scoreCompletions } from '../../src/gpu/learner.js';
import { Gpt, type GptConfig } from '../../src/gpu/model.js';
import { drawToken, replayMasks, sample, type SampleRequest } from '../../src/gpu/sampler.js';
import { BOS, END, HashConstraint, ScriptConstraint } from './toy.js';

const config: GptConfig = { vocabSize: 24, contextLength: 24, layers: 2, width: 32, heads: 4 };
let model: Gpt;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  model = Gpt.init(config, new Rng(3));
});
afterAll(() => model.dispose());

function prompts(rng: Rng, n: number): number[][] {
  return Array.from({ length: n }, () => [BOS, ...Array.from({ length: 1 + rng.int(6) }, () => 4 + rng.int(20))]);
}

describe('drawToken', () => {
  it('samples by inverse CDF over allowed tokens and returns the masked, temperature-scaled log-prob', () => {
    const logits = [Math.log(1), Math.log(2), Math.log(3), Math.log(4)];
    const allowed = Uint8Array.from([1, 0, 1, 1]); // p = 1/8, 0, 3/8, 4/8
    expect(drawToken(logits, 0, 4, allowed, 1, 0.1)).toEqual({
      token: 0,
      logProb: expect.closeTo(Math.log(1 / 8), 12),
    });
    expect(drawToken(logits, 0, 4, allowed, 1, 0.2).token).toBe(2);
    expect(drawToken(logits, 0, 4, allowed, 1, 0.6).token).toBe(3);
    // temperature 2 flattens: p ∝ √1, √3, √4
    const z = 1 + Math.sqrt(3) + 2;
    expect(drawToken(logits, 0, 4, allowed, 2, 0.99).logProb).toBeCloseTo(Math.log(2 / z), 12);
    // greedy: argmax, log-prob at temperature 1
    expect(drawToken(logits, 0, 4, allowed, 0, 0.5)).toEqual({ token: 3, logProb: expect.closeTo(Math.log(0.5), 12) });
  });
});

describe('sample', () => {
  it("never emits a token the constraint disallows, and records each step's mask", async () => {
    const rng = new Rng(11);
    const ps = prompts(rng, 48);
    const requests: SampleRequest[] = ps.map((p, i) => ({
      prompt: p,
      constraint: new HashConstraint(config.vocabSize, i, 10),
    }));
    const out = await sample(model, requests, { rng: rng.split('sample'), maxNewTokens: 10 });
    let tokens = 0;
    out.forEach((c, i) => {
      expect(c.tokens.length).toBeGreaterThan(0);
      expect(c.logProbs).toHaveLength(c.tokens.length);
      // replaying a fresh constraint over the tokens throws on any disallowed token
      const replayed = replayMasks(new HashConstraint(config.vocabSize, i, 10), c.tokens, config.vocabSize);
      expect(c.masks).toEqual(replayed);
      expect(c.stop).toBe('constraint');
      tokens += c.tokens.length;
    });
    expect(tokens).toBeGreaterThan(48 * 2);
  });

  it('returns log-probs equal to what the learner computes for the same completions', async () => {
    const rng = new Rng(12);
    const ps = prompts(rng, 16);
    for (const temperature of [1, 0.7]) {
      const requests = ps.map((p, i) => ({ prompt: p, constraint: new HashConstraint(config.vocabSize, 100 + i, 8) }));
      const out = await sample(model, requests, { rng: rng.split(`t${temperature}`), maxNewTokens: 8, temperature });
      const scored = scoreCompletions(
        model,
        out.map((c, i) => ({ prompt: ps[i]!, tokens: c.tokens, masks: c.masks })),
        temperature,
      );
      out.forEach((c, i) => c.logProbs.forEach((lp, t) => expect(Math.abs(lp - scored[i]![t]!)).toBeLessThan(1e-4)));
    }
  });

  it('is reproducible from the seed and varies with it', async () => {
    const ps = prompts(new Rng(5), 8);
    const run = (seed: number) =>
      sample(
        model,
        ps.map((p) => ({ prompt: p })),
        { rng: new Rng(seed), maxNewTokens: 6 },
      );
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect((await run(2)).map((c) => c.tokens)).not.toEqual(a.map((c) => c.tokens));
  });

  it('stops at the end token, at the length cap, and at the context limit', async () => {
    const requests: SampleRequest[] = [
      { prompt: [BOS, 5], constraint: new ScriptConstraint([[6, 7], [END], [8], [9]]) }, // END allowed at step 2
      { prompt: [BOS, 5], maxNewTokens: 3 },
      { prompt: Array.from({ length: 22 }, () => 4) }, // 2 positions left in a context of 24
    ];
    const [a, b, c] = await sample(model, requests, { rng: new Rng(1), maxNewTokens: 10, endToken: END });
    expect(a!.tokens).toHaveLength(2);
    expect(a!.tokens[1]).toBe(END);
    expect(a!.stop).toBe('end');
    expect(b!.tokens).toHaveLength(3);
    expect(b!.stop).toBe('length');
    expect(b!.masks).toBeNull();
    expect(c!.tokens).toHaveLength(2);
    expect(c!.stop).toBe('length');
  });

  it('an unconstrained request with endCount k stops after the k-th end token (free generation of k segments)', async () => {
    // greedy, so the same prompt yields the same tokens; pick as "end" a token the greedy completion repeats
    const prompt = [BOS, 5, 6];
    const [free] = await sample(model, [{ prompt }], { rng: new Rng(1), maxNewTokens: 20, temperature: 0 });
    const counts = new Map<number, number[]>();
    free!.tokens.forEach((t, i) => counts.set(t, [...(counts.get(t) ?? []), i]));
    const [end, at] = [...counts.entries()].find(([, is]) => is.length >= 2)!;
    const stopAt = async (endCount?: number) =>
      (
        await sample(model, [{ prompt, ...(endCount !== undefined ? { endCount } : {}) }], {
          rng: new Rng(1),
          maxNewTokens: 20,
          temperature: 0,
          endToken: end,
        })
      )[0]!;
    const one = await stopAt();
    expect(one.tokens).toEqual(free!.tokens.slice(0, at[0]! + 1));
    expect(one.stop).toBe('end');
    const two = await stopAt(2);
    expect(two.tokens).toEqual(free!.tokens.slice(0, at[1]! + 1));
    expect([two.stop, two.masks]).toEqual(['end', null]);
    const many = await stopAt(99);
    expect([many.tokens.length, many.stop]).toEqual([20, 'length']);
    await expect(stopAt(0)).rejects.toThrow(/endCount/);
  });

  it('greedy decoding (temperature 0) is deterministic and draws no uniforms', async () => {
    const ps = prompts(new Rng(6), 4);
    const rng = new Rng(1);
    const before = rng.state();
    const a = await sample(
      model,
      ps.map((p) => ({ prompt: p })),
      { rng, maxNewTokens: 5, temperature: 0 },
    );
    expect(rng.state()).toEqual(before);
    const b = await sample(
      model,
      ps.map((p) => ({ prompt: p })),
      { rng: new Rng(2), maxNewTokens: 5, temperature: 0 },
    );
    expect(b).toEqual(a);
  });

  it('rejects a constraint that allows nothing, and leaks no tensors when it throws', async () => {
    const before = tf.memory().numTensors;
    await expect(
      sample(model, [{ prompt: [BOS], constraint: new ScriptConstraint([[]]) }], { rng: new Rng(1), maxNewTokens: 3 }),
    ).rejects.toThrow(/allows no token/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
