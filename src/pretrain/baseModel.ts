// The base checkpoint `azr pretrain` writes and self-play starts from: weights, model config, vocabulary fingerprint, pretrain config.

import { createHash } from 'node:crypto';
import { loadCheckpoint, loadCheckpointConfig, saveCheckpoint } from '../gpu/checkpoint.js';
import { Gpt, type GptConfig, type Weights } from '../gpu/model.js';
import { tokenizer } from '../gpu/tokenizer.js';

/** Marks a checkpoint's `extra` as a base model. */
export const BASE_KIND = 'azr-base-model';

/** sha256 of the vocabulary (one token per line): a checkpoint is only usable with the vocabulary it was trained on. */
export function vocabFingerprint(vocab: readonly string[] = tokenizer.vocab): string {
  return createHash('sha256').update(vocab.join('\n')).digest('hex');
}

/** What a base checkpoint records beside the weights (JSON). */
interface BaseModelInfo {
  readonly kind: typeof BASE_KIND;
  readonly vocab: { readonly size: number; readonly sha256: string };
  readonly seed: number;
  /** The resolved `model:` and `pretrain:` sections it was trained with. */
  readonly scenario: Record<string, unknown>;
  readonly steps: number;
  readonly seconds: number;
  readonly probeStart: number;
  readonly probeEnd: number;
  /** Probe accuracy along the way: `{ step, seconds, overall, deduction, abduction, induction }`. */
  readonly curve: readonly Record<string, number | null>[];
}

export async function saveBaseModel(
  dir: string,
  config: GptConfig,
  weights: Weights,
  info: BaseModelInfo,
): Promise<void> {
  await saveCheckpoint(dir, {
    config,
    weights,
    optimizer: null,
    step: info.steps,
    rng: {},
    extra: JSON.parse(JSON.stringify(info)),
  });
}

/** The `extra` of a base checkpoint, after checking it is one and that its model's vocabulary is this tokenizer's. */
function baseInfoOf(dir: string, config: GptConfig, extra: unknown): BaseModelInfo {
  const info = extra as BaseModelInfo | undefined;
  if (info === undefined || info === null || typeof info !== 'object' || info.kind !== BASE_KIND)
    throw new Error(`${dir} is a checkpoint but not a base model (azr pretrain writes those)`);
  if (info.vocab.sha256 !== vocabFingerprint() || config.vocabSize !== tokenizer.vocabSize)
    throw new Error(
      `${dir} was trained on another vocabulary (${info.vocab.size} tokens, sha256 ${info.vocab.sha256.slice(0, 12)}…); pretrain again`,
    );
  return info;
}

/** A base checkpoint's model config and record, with loadBaseModel's checks, without reading its weights. */
export async function readBaseModelInfo(dir: string): Promise<{ config: GptConfig; info: BaseModelInfo }> {
  const { config, extra } = await loadCheckpointConfig(dir);
  return { config, info: baseInfoOf(dir, config, extra) };
}

/** Loads a base checkpoint as a model, after checking it is one and that its vocabulary is this tokenizer's. */
export async function loadBaseModel(dir: string): Promise<{ model: Gpt; info: BaseModelInfo }> {
  const ckpt = await loadCheckpoint(dir);
  const info = baseInfoOf(dir, ckpt.config, ckpt.extra);
  return { model: new Gpt(ckpt.config, ckpt.weights), info };
}
