import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { embed, gelu, layerNorm, matMul, oneHot } from '../../src/gpu/ops.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
    shape,
  );
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe('matMul with explicit-transpose gradients', () => {
  it.each([
    ['rank 2', [5, 7], [7, 3]],
    ['rank 3 (batched)', [4, 5, 7], [4, 7, 3]],
  ])('has the value and gradients of tf.matMul (%s)', (_, sa, sb) => {
    const rng = new Rng(1);
    const a = randomTensor(rng, sa as number[]);
    const b = randomTensor(rng, sb as number[]);
    const w = randomTensor(rng, [...(sa as number[]).slice(0, -1), (sb as number[]).at(-1) as number]);
    const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(f(x, y), w));
    const fast = tf.grads(loss(matMul))([a, b]);
    const ref = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    expect(maxDiff(matMul(a, b), tf.matMul(a, b))).toBeLessThan(1e-6);
    expect(maxDiff(fast[0] as tf.Tensor, ref[0] as tf.Tensor)).toBeLessThan(1e-5);
    expect(maxDiff(fast[1] as tf.Tensor, ref[1] as tf.Tensor)).toBeLessThan(1e-5);
  });
});

describe('embed (one-hot × table)', () => {
  it('picks rows like gather and scatters gradients back to them', () => {
    const table = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ids = tf.tensor2d(
      [
        [0, 2],
        [2, 2],
      ],
      [2, 2],
      'int32',
    );
    expect(embed(ids, table).arraySync()).toEqual([
      [
        [1, 2],
        [5, 6],
      ],
      [
        [5, 6],
        [5, 6],
      ],
    ]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(embed(ids, t as tf.Tensor2D)))(table);
    expect(g.arraySync()).toEqual([
      [1, 1],
      [0, 0],
      [3, 3],
    ]); // row 1 unused, row 2 used three times
  });

  it('oneHot gives float ones (guards the wasm float32 oneHot bug)', () => {
    expect(oneHot(tf.tensor1d([2, 0], 'int32'), 3).arraySync()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });
});

describe('gelu and layerNorm', () => {
  it('gelu matches the tanh formula', () => {
    const xs = [-3, -1, -0.1, 0, 0.5, 2];
    const expected = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    const got = Array.from(gelu(tf.tensor1d(xs)).dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 6));
  });

  it('layerNorm normalises the last axis, then applies gain and bias', () => {
    const y = layerNorm(tf.tensor2d([[1, 2, 3, 4]]), tf.tensor1d([1, 1, 1, 2]), tf.tensor1d([0, 0, 0, 1]));
    const mean = 2.5;
    const std = Math.sqrt(1.25 + 1e-5);
    const expected = [1, 2, 3, 4].map((x, i) => ((x - mean) / std) * (i === 3 ? 2 : 1) + (i === 3 ? 1 : 0));
    Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 5));
  });
});
