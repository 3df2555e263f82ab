// CheckpointEffect: weights + optimizer (from the learner) + the coordinator's CheckpointData into runs/<name>/checkpoints/step-N/, atomically; the last k kept.
//
//   checkpoints/step-N/checkpoint.json, weights.f32, adam-m.f32, adam-v.f32   src/gpu/checkpoint.ts (RNG states inside)
//   checkpoints/step-N/coordinator.json                                      buffers, RNG, actor snapshots, recent programs
// A checkpoint is written into checkpoints/.tmp-step-N and renamed into place, so step-N is complete or absent.

import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../gpu/checkpoint.js';
import type { Learner } from '../gpu/learner.js';
import type { CheckpointData, CheckpointEffect } from '../machines/effects.js';

const CHECKPOINTS_DIR = 'checkpoints';
const STEP_DIR = /^step-(\d+)$/;

interface CheckpointStoreOptions {
  /** The run directory; checkpoints go to <runDir>/checkpoints. */
  readonly runDir: string;
  readonly learner: Learner;
  /** Called first: everything logged up to the checkpoint must be on disk before it (EventLog.flush). */
  readonly flush?: () => void;
  /** Checkpoints kept (older ones deleted after a save). */
  readonly keep: number;
}

/** A checkpoint read back: the learner's part and the coordinator's. */
interface LoadedCheckpoint {
  readonly dir: string;
  readonly model: Checkpoint;
  readonly data: CheckpointData;
}

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(path.join(dir, f))).size;
  return n;
}

export class CheckpointStore implements CheckpointEffect {
  private saves = 0;

  constructor(private readonly options: CheckpointStoreOptions) {}

  get dir(): string {
    return path.join(this.options.runDir, CHECKPOINTS_DIR);
  }

  async save(data: CheckpointData): Promise<{ path: string; bytes: number }> {
    this.options.flush?.();
    const name = `step-${data.step}`;
    const final = path.join(this.dir, name);
    const tmp = path.join(this.dir, `.tmp-${name}`);
    await rm(tmp, { recursive: true, force: true });
    const { weights, optimizer } = this.options.learner.snapshot();
    await saveCheckpoint(tmp, {
      config: this.options.learner.model.config,
      weights,
      optimizer,
      step: this.options.learner.step,
      rng: {
        root: data.rng.root,
        ...Object.fromEntries(Object.entries(data.rng.actors).map(([k, v]) => [`actor.${k}`, v])),
      },
    });
    await writeFile(path.join(tmp, 'coordinator.json'), JSON.stringify(data) + '\n');
    // step-N may exist already (a stop right after the periodic checkpoint of N): swap it out, then drop it
    const old = path.join(this.dir, `.old-${name}-${this.saves++}`);
    const existed = await stat(final).then(
      () => true,
      () => false,
    );
    if (existed) await rename(final, old);
    await rename(tmp, final);
    if (existed) await rm(old, { recursive: true, force: true });
    await this.prune();
    return { path: path.posix.join(CHECKPOINTS_DIR, name), bytes: await dirSize(final) };
  }

  /** Deletes all but the newest `keep` checkpoints. */
  private async prune(): Promise<void> {
    const steps = await listCheckpointSteps(this.options.runDir);
    for (const step of steps.slice(0, Math.max(0, steps.length - this.options.keep)))
      await rm(path.join(this.dir, `step-${step}`), { recursive: true, force: true });
  }
}

/** Steps of the complete checkpoints in a run directory, ascending. */
export async function listCheckpointSteps(runDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(path.join(runDir, CHECKPOINTS_DIR));
  } catch {
    return [];
  }
  return names
    .map((n) => STEP_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The newest checkpoint of a run directory, or null when it has none. */
export async function loadLatestCheckpoint(runDir: string): Promise<LoadedCheckpoint | null> {
  const steps = await listCheckpointSteps(runDir);
  const step = steps[steps.length - 1];
  if (step === undefined) return null;
  const dir = path.join(runDir, CHECKPOINTS_DIR, `step-${step}`);
  const model = await loadCheckpoint(dir);
  const data = JSON.parse(await readFile(path.join(dir, 'coordinator.json'), 'utf8')) as CheckpointData;
  if (data.version !== 1 || data.step !== step)
    throw new Error(`${dir}/coordinator.json does not belong to step ${step}`);
  return { dir, model, data };
}
