// Tensor ops the model is built from, chosen for the wasm backend: fast-gradient matMul, one-hot embedding, GELU, LayerNorm.

import * as tf from '@tensorflow/tfjs';

/** Swap the last two axes with an explicit transpose (wasm's transposeA/B matMul flags are 13–27× slower). */
export function transposeLast<T extends tf.Tensor>(x: T): T {
  const perm = [...Array(x.rank).keys()];
  const last = x.rank - 1;
  perm[last - 1] = last;
  perm[last] = last - 1;
  return tf.transpose(x, perm);
}

/**
 * `a · b` for rank-2 or rank-3 (equal batch) operands, whose gradient transposes explicitly instead of using
 * tfjs-core's `transposeA/transposeB` flags: on wasm that made a training step 2.2–3.7× faster, with gradients
 * equal to the cpu backend's (reference/stack-measurements.md §2).
 */
export const matMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, transposeLast(sb)), tf.matMul(transposeLast(sa), dy)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Rows of `table` picked by integer `ids`, written as `oneHot(ids) · table`: wasm has no gradient for `gather`
 * (it lacks UnsortedSegmentSum), and the matmul gradient is exactly the scatter-add `gather` would need.
 * `ids` has any shape; the result has shape `[...ids.shape, table.shape[1]]`.
 */
export function embed(ids: tf.Tensor, table: tf.Tensor2D): tf.Tensor {
  const flat = oneHot(tf.reshape(ids, [-1]), table.shape[0]);
  const out = matMul(flat, table);
  return tf.reshape(out, [...ids.shape, table.shape[1]]);
}

/**
 * float32 one-hot rows of integer `ids` (shape `[...ids.shape, depth]`). Built as int32 and cast: tfjs-backend-wasm
 * 4.22 returns all zeros for `tf.oneHot(..., 'float32')`.
 */
export function oneHot(ids: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(tf.cast(ids, 'int32') as tf.Tensor1D, depth), 'float32');
}

/** `x · w + b` over the last axis of `x` (any rank ≥ 2), through the fast 2-D matMul. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const inner = w.shape[0];
  const lead = x.shape.slice(0, -1);
  const y = tf.add(matMul(tf.reshape(x, [-1, inner]), w), b);
  return tf.reshape(y, [...lead, w.shape[1]]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (as GPT-2); x³ is x·x·x because `pow` is slow on wasm. */
export function gelu(x: tf.Tensor): tf.Tensor {
  const cube = tf.mul(tf.mul(x, x), x);
  const inner = tf.mul(tf.add(x, tf.mul(cube, 0.044715)), SQRT_2_OVER_PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** LayerNorm epsilon; ONNX's LayerNormalization default, so the exported graph matches. */
export const LAYER_NORM_EPS = 1e-5;

/** LayerNorm over the last axis with gain `g` and bias `b` (biased variance, as torch and ONNX). */
export function layerNorm(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPS)));
  return tf.add(tf.mul(normed, g), b);
}
