// The base model a run starts from: the scenario's checkpoint, or one built with `pretrain` on first use and cached by the hash of what determines it.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { ProbeTask } from '../azr/probe.js';
import type { BackendName } from '../gpu/backend.js';
import type { RunScenario } from '../config/schema.js';
import { vocabFingerprint } from './baseModel.js';
import type { ProbeExclusion } from './pretrainData.js';
import { pretrain, type PretrainProgress, type PretrainResult } from './pretrain.js';

/**
 * The cache key: model + pretrain sections, seed, vocabulary and the excluded probe programs (everything the base
 * weights depend on), and with `pretrain.init` the hash of the base it starts from.
 */
export function baseModelKey(s: Pick<RunScenario, 'seed' | 'model' | 'pretrain'>, exclusion: ProbeExclusion): string {
  const text = JSON.stringify({
    seed: s.seed,
    model: s.model,
    pretrain: s.pretrain,
    vocab: vocabFingerprint(),
    probe: exclusion.fingerprint(),
    ...(s.pretrain.init === undefined ? {} : { init: initFingerprint(s.pretrain.init) }),
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The hash of a base checkpoint's files (config and weights); 'missing' when it has none (its build will say so). */
function initFingerprint(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['checkpoint.json', 'weights.f32']) {
    const file = path.join(dir, f);
    if (!existsSync(file)) return 'missing';
    h.update(readFileSync(file));
  }
  return h.digest('hex').slice(0, 16);
}

/** The base checkpoint directory a run of `s` uses: `s.base` when set, else its cache entry under `cacheDir`. */
export function baseModelDir(
  s: Pick<RunScenario, 'base' | 'seed' | 'model' | 'pretrain'>,
  cacheDir: string,
  exclusion: ProbeExclusion,
): string {
  return s.base ?? path.join(cacheDir, `base-${baseModelKey(s, exclusion)}`);
}

interface EnsureBaseOptions {
  readonly scenario: RunScenario;
  readonly cacheDir: string;
  /** The probe tasks the build evaluates at its start and end. */
  readonly probeTasks: readonly ProbeTask[];
  /** The programs it never trains on: the whole probe set, also when `probeTasks` is a sample of it. */
  readonly exclusion: ProbeExclusion;
  readonly backend?: BackendName;
  readonly onProgress?: (p: PretrainProgress) => void;
  /** Told before a build starts (it takes a while). */
  readonly onBuild?: (dir: string) => void;
  /** Aborts a build between training steps; the temporary directory is removed and nothing is cached. */
  readonly signal?: AbortSignal;
}

/** Where the base lives, and the pretraining result when it was built just now. */
interface EnsuredBase {
  readonly dir: string;
  readonly built: PretrainResult | null;
}

/**
 * The base checkpoint directory: `scenario.base` when set (it must exist), else `<cacheDir>/base-<key>`, built
 * with the scenario's `pretrain:` section when missing. A build writes to a temporary directory and renames it
 * into place, so an interrupted build leaves no half cache entry.
 */
export async function ensureBaseModel(o: EnsureBaseOptions): Promise<EnsuredBase> {
  const dir = baseModelDir(o.scenario, o.cacheDir, o.exclusion);
  if (o.scenario.base !== null) {
    if (!existsSync(path.join(dir, 'checkpoint.json')))
      throw new Error(`base: ${dir} holds no checkpoint (azr pretrain --out writes one)`);
    return { dir, built: null };
  }
  if (existsSync(path.join(dir, 'checkpoint.json'))) return { dir, built: null };
  await mkdir(o.cacheDir, { recursive: true });
  const tmp = path.join(o.cacheDir, `.tmp-${path.basename(dir)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  o.onBuild?.(dir);
  let built: PretrainResult;
  try {
    built = await pretrain({
      scenario: { seed: o.scenario.seed, model: o.scenario.model, pretrain: o.scenario.pretrain },
      out: tmp,
      probeTasks: o.probeTasks,
      exclusion: o.exclusion,
      ...(o.backend !== undefined ? { backend: o.backend } : {}),
      ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }); // an aborted or failed build leaves nothing behind
    throw e;
  }
  try {
    await rename(tmp, dir);
  } catch (e) {
    // another run built the same base meanwhile: use theirs
    if (!existsSync(path.join(dir, 'checkpoint.json'))) throw e;
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, built };
}
