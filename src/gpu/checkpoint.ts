// Checkpoints: weights, AdamW state, step and RNG states in a directory (checkpoint.json + little-endian float32 files).
//
//   <dir>/checkpoint.json   config, step, parameter table (name, shape, offset), optimizer step, RNG states, extra JSON
//   <dir>/weights.f32       all parameters back to back, in paramSpecs order
//   <dir>/adam-m.f32        AdamW first moments, same layout     (absent when saved without an optimizer)
//   <dir>/adam-v.f32        AdamW second moments, same layout
// checkpoint.json is written last, so a directory without it is an interrupted save. Values round-trip bit for bit.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { RngState } from '../azr/rng.js';
import type { AdamWState } from './adamw.js';
import { checkWeights, GptConfigSchema, type GptConfig, type NamedArray, type Weights } from './model.js';

const CHECKPOINT_FORMAT = 'azr-gpt-checkpoint';
const CHECKPOINT_VERSION = 1;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const JsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonSchema), z.record(z.string(), JsonSchema)]),
);

export interface Checkpoint {
  readonly config: GptConfig;
  readonly weights: Weights;
  /** AdamW state, or null for weights only (e.g. a base model for inference). */
  readonly optimizer: AdamWState | null;
  /** Learner step (optimizer steps taken). */
  readonly step: number;
  /** Named RNG stream states (`rng.state()`), restored with `new Rng(state)`. */
  readonly rng: Readonly<Record<string, RngState>>;
  /** Anything else the caller wants back (JSON). */
  readonly extra?: Json;
}

const u32 = z.number().int().min(0).max(0xffffffff);
/** Rng states are 32-bit words; some are negative int32 values in memory, saved as their unsigned form. */
const toU32 = (x: number): number => x >>> 0;
const MetaSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  config: GptConfigSchema,
  step: z.number().int().min(0),
  params: z.array(
    z.object({ name: z.string(), shape: z.array(z.number().int().min(1)), offset: z.number().int().min(0) }),
  ),
  optimizer: z.object({ step: z.number().int().min(0) }).nullable(),
  rng: z.record(z.string(), z.tuple([u32, u32, u32, u32])),
  extra: JsonSchema.optional(),
});

function requireLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('checkpoints are little-endian float32; this host is big-endian');
}

function concat(arrays: readonly NamedArray[]): Buffer {
  const total = arrays.reduce((n, a) => n + a.data.length, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const a of arrays) {
    out.set(a.data, offset);
    offset += a.data.length;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Write `checkpoint` into `dir` (created if needed; an existing checkpoint there is replaced). */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  requireLittleEndian();
  checkWeights(checkpoint.config, checkpoint.weights);
  if (checkpoint.optimizer !== null) {
    checkWeights(checkpoint.config, checkpoint.optimizer.m);
    checkWeights(checkpoint.config, checkpoint.optimizer.v);
  }
  await mkdir(dir, { recursive: true });
  await rm(path.join(dir, 'checkpoint.json'), { force: true });
  let offset = 0;
  const params = checkpoint.weights.map((w) => {
    const entry = { name: w.name, shape: [...w.shape], offset };
    offset += w.data.length;
    return entry;
  });
  await writeFile(path.join(dir, 'weights.f32'), concat(checkpoint.weights));
  if (checkpoint.optimizer !== null) {
    await writeFile(path.join(dir, 'adam-m.f32'), concat(checkpoint.optimizer.m));
    await writeFile(path.join(dir, 'adam-v.f32'), concat(checkpoint.optimizer.v));
  } else {
    await rm(path.join(dir, 'adam-m.f32'), { force: true });
    await rm(path.join(dir, 'adam-v.f32'), { force: true });
  }
  const meta: z.input<typeof MetaSchema> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: checkpoint.config,
    step: checkpoint.step,
    params,
    optimizer: checkpoint.optimizer === null ? null : { step: checkpoint.optimizer.step },
    rng: Object.fromEntries(
      Object.entries(checkpoint.rng).map(([k, s]) => [k, s.map(toU32) as [number, number, number, number]]),
    ),
    ...(checkpoint.extra === undefined ? {} : { extra: checkpoint.extra }),
  };
  const tmp = path.join(dir, 'checkpoint.json.tmp');
  await writeFile(tmp, JSON.stringify(meta, null, 2) + '\n');
  await rename(tmp, path.join(dir, 'checkpoint.json'));
}

async function readFloats(file: string, expected: number): Promise<Float32Array> {
  const bytes = await readFile(file);
  if (bytes.byteLength !== expected * 4)
    throw new Error(`${file}: ${bytes.byteLength} bytes, expected ${expected * 4}`);
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** checkpoint.json of `dir`, schema-checked. */
async function readMeta(dir: string): Promise<z.infer<typeof MetaSchema>> {
  let raw: string;
  try {
    raw = await readFile(path.join(dir, 'checkpoint.json'), 'utf8');
  } catch {
    throw new Error(`${dir} holds no checkpoint.json (not a checkpoint, or an interrupted save)`);
  }
  const parsed = MetaSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`${dir}/checkpoint.json is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/** A checkpoint's model config and `extra`, without reading its weights. */
export async function loadCheckpointConfig(dir: string): Promise<Pick<Checkpoint, 'config' | 'extra'>> {
  const meta = await readMeta(dir);
  return { config: meta.config, ...(meta.extra === undefined ? {} : { extra: meta.extra }) };
}

/** Read a checkpoint written by `saveCheckpoint`; throws a precise error when something is missing or inconsistent. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  requireLittleEndian();
  const meta = await readMeta(dir);
  const total = meta.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const split = (all: Float32Array): Weights =>
    meta.params.map((p) => ({
      name: p.name,
      shape: p.shape,
      data: all.slice(p.offset, p.offset + p.shape.reduce((a, b) => a * b, 1)),
    }));
  const weights = split(await readFloats(path.join(dir, 'weights.f32'), total));
  checkWeights(meta.config, weights);
  const optimizer =
    meta.optimizer === null
      ? null
      : {
          step: meta.optimizer.step,
          m: split(await readFloats(path.join(dir, 'adam-m.f32'), total)),
          v: split(await readFloats(path.join(dir, 'adam-v.f32'), total)),
        };
  return {
    config: meta.config,
    weights,
    optimizer,
    step: meta.step,
    rng: meta.rng,
    ...(meta.extra === undefined ? {} : { extra: meta.extra }),
  };
}
