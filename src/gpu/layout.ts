// Batch layout shared by the sampler, the learner and the ONNX engine: left-padded rows, per-row positions, additive attention masks.
//
// Every row is left-padded to the batch's longest prompt, and row r's real tokens get positions 0, 1, 2, … from its
// first real token whatever its padding, while its pad columns are masked out as keys. So a sequence's logits do not
// depend on the batch it was placed in (up to float rounding): the sampler and the learner may batch differently.

/** Additive mask value for a key a query may not see; finite, so fully masked (pad) rows softmax to garbage, never NaN. */
export const MASKED = -1e9;

/** Token placed in pad columns; never seen, since pad columns are masked as keys and their outputs are ignored. */
export const PAD_ID = 0;

interface PromptLayout {
  readonly batch: number;
  /** Columns: the longest prompt's length. */
  readonly width: number;
  /** Pad columns at the left of each row. */
  readonly pads: Int32Array;
  /** `[batch, width]` token ids. */
  readonly tokens: Int32Array;
  /** `[batch, width]` per-row positions (pad columns get 0). */
  readonly positions: Int32Array;
}

/** Left-pad `prompts` to a common width. Each prompt needs at least one token. */
export function leftPad(prompts: readonly (readonly number[])[]): PromptLayout {
  const batch = prompts.length;
  let width = 0;
  for (const p of prompts) {
    if (p.length === 0) throw new Error('a prompt needs at least one token');
    width = Math.max(width, p.length);
  }
  const pads = new Int32Array(batch);
  const tokens = new Int32Array(batch * width).fill(PAD_ID);
  const positions = new Int32Array(batch * width);
  prompts.forEach((p, r) => {
    const pad = width - p.length;
    pads[r] = pad;
    for (let j = 0; j < p.length; j++) {
      tokens[r * width + pad + j] = p[j] as number;
      positions[r * width + pad + j] = j;
    }
  });
  return { batch, width, pads, tokens, positions };
}

/**
 * Positions of columns `[start, start + count)` for each row: column − pads[r], clamped to `[0, contextLength − 1]`
 * (clamping only touches pad columns and columns after a row has finished, whose outputs are ignored).
 */
export function columnPositions(
  pads: ArrayLike<number>,
  start: number,
  count: number,
  contextLength: number,
): Int32Array {
  const out = new Int32Array(pads.length * count);
  for (let r = 0; r < pads.length; r++) {
    for (let j = 0; j < count; j++) {
      out[r * count + j] = Math.min(contextLength - 1, Math.max(0, start + j - (pads[r] as number)));
    }
  }
  return out;
}

/**
 * Additive mask `[batch, 1, count, start + count]` for queries at columns `[start, start + count)` over keys at
 * columns `[0, start + count)`: a query sees a key when the key is not after it (causal) and is not a pad column.
 */
export function attentionMask(pads: ArrayLike<number>, start: number, count: number): Float32Array {
  const keys = start + count;
  const out = new Float32Array(pads.length * count * keys);
  for (let r = 0; r < pads.length; r++) {
    const pad = pads[r] as number;
    for (let i = 0; i < count; i++) {
      const q = start + i;
      const row = (r * count + i) * keys;
      for (let k = 0; k < keys; k++) out[row + k] = k >= pad && k <= q ? 0 : MASKED;
    }
  }
  return out;
}

/**
 * Rows cut into buckets of similar length, each to be padded only to its own longest row: indices of `lengths`
 * (sequence lengths), sorted by length and split where padding would cost more than another call. Minimises, by
 * dynamic programming over the sorted rows, Σ over buckets of `rows · T · (1 + T / attentionScale) + overhead` — a
 * bucket's work (dense layers per position, attention per position pair) plus a fixed cost per forward/backward call
 * — so a batch of mixed lengths (a self-play step's six groups) is not padded to its longest prompt + completion.
 * Deterministic: ties keep the input order.
 */
export function lengthBuckets(
  lengths: readonly number[],
  options: { overhead?: number; attentionScale?: number } = {},
): number[][] {
  const overhead = options.overhead ?? 512;
  const scale = options.attentionScale ?? 256;
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
  const n = order.length;
  if (n === 0) return [];
  // best[j]: least cost of the first j sorted rows; cut[j]: where its last bucket starts
  const best = new Float64Array(n + 1);
  const cut = new Int32Array(n + 1);
  for (let j = 1; j <= n; j++) {
    const T = lengths[order[j - 1] as number] as number;
    best[j] = Infinity;
    for (let i = 0; i < j; i++) {
      const cost = (best[i] as number) + (j - i) * T * (1 + T / scale) + overhead;
      if (cost < (best[j] as number)) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const buckets: number[][] = [];
  for (let j = n; j > 0; j = cut[j] as number) buckets.unshift(order.slice(cut[j] as number, j));
  return buckets;
}
