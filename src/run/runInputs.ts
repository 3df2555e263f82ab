// What a run scenario names outside itself — the probe file, a base checkpoint — read and checked before a run
// directory exists, so that `azr run` and `azr ablate` refuse bad input with a message (exit 2) instead of failing
// after the start. The run then uses the probe set read here.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ProbeTask } from '../azr/probe.js';
import type { RunScenario } from '../config/schema.js';
import { readBaseModelInfo } from '../pretrain/baseModel.js';
import { loadProbeTasks, probePrompts, ProbeContextError, PROBE_FILE } from '../pretrain/probeEval.js';
import { ProbeExclusion } from '../pretrain/pretrainData.js';

/** A scenario names a probe file or base that cannot be used, or a context the probe does not fit (bad input). */
export class RunInputError extends Error {
  override readonly name = 'RunInputError';
}

/** A scenario's probe set: its file (default the committed set) whole, the `stride`-th tasks the run evaluates, and what training leaves out. */
interface ScenarioProbe {
  readonly all: ProbeTask[];
  readonly evaluated: ProbeTask[];
  /** Neither the base nor the supervised term of self-play ever trains on a probe program, sampled or not. */
  readonly exclusion: ProbeExclusion;
}

export async function scenarioProbeTasks(s: RunScenario): Promise<ScenarioProbe> {
  const all = await loadProbeTasks(s.probe.file ?? PROBE_FILE);
  return { all, evaluated: all.filter((_, i) => i % s.probe.stride === 0), exclusion: new ProbeExclusion(all) };
}

/**
 * Reads the scenario's probe set and (when it names one) its base checkpoint's record, and checks that every
 * evaluated probe prompt and its answer fit the model's context (the base's, when named). Returns the probe set;
 * throws RunInputError naming the field.
 */
export async function checkRunInputs(s: RunScenario): Promise<ScenarioProbe> {
  let probe: ScenarioProbe;
  try {
    probe = await scenarioProbeTasks(s);
  } catch (e) {
    throw new RunInputError(`probe.file: cannot read ${s.probe.file ?? PROBE_FILE}: ${(e as Error).message}`);
  }
  let contextLength = s.model.contextLength;
  let where = 'model.contextLength';
  if (s.base !== null) {
    if (!existsSync(path.join(s.base, 'checkpoint.json')))
      throw new RunInputError(`base: ${s.base} holds no checkpoint (azr pretrain --out writes one)`);
    try {
      contextLength = (await readBaseModelInfo(s.base)).config.contextLength;
    } catch (e) {
      throw new RunInputError(`base: ${(e as Error).message}`);
    }
    where = `the context of the base model ${s.base}`;
  }
  try {
    probePrompts(probe.evaluated, contextLength, s.policy.budgets.trace);
  } catch (e) {
    if (e instanceof ProbeContextError) throw new RunInputError(`${e.message}: raise ${where}`);
    throw e;
  }
  return probe;
}
