// What a run scenario names outside itself — the probe file, a base checkpoint — checked before a run directory exists,
// so that `azr run` and `azr ablate` refuse bad input with a message (exit 2) instead of failing after the start.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { RunScenario } from '../scenario/schema.js';
import { readBaseModel } from './baseModel.js';
import { probePrompts, ProbeContextError, PROBE_FILE } from './probeEval.js';
import { scenarioProbeTasks } from './runner.js';

/** A scenario names a probe file or base that cannot be used, or a context the probe does not fit (bad input). */
export class RunInputError extends Error {
  override readonly name = 'RunInputError';
}

/**
 * Reads the scenario's probe file and base checkpoint (when it names one) and checks that every evaluated probe
 * prompt and its answer fit the model's context (the base's, when named). Throws RunInputError naming the field.
 */
export async function checkRunInputs(s: RunScenario): Promise<void> {
  let probe;
  try {
    probe = await scenarioProbeTasks(s);
  } catch (e) {
    throw new RunInputError(`probe.file: cannot read ${s.probe.file ?? PROBE_FILE}: ${(e as Error).message}`);
  }
  let contextLength = s.model.contextLength;
  let where = 'model.contextLength';
  if (s.base !== null) {
    if (!existsSync(path.join(s.base, 'checkpoint.json'))) throw new RunInputError(`base: ${s.base} holds no checkpoint (azr pretrain --out writes one)`);
    try {
      contextLength = (await readBaseModel(s.base)).config.contextLength;
    } catch (e) {
      throw new RunInputError(`base: ${(e as Error).message}`);
    }
    where = `the context of the base model ${s.base}`;
  }
  try {
    probePrompts(probe.evaluated, contextLength);
  } catch (e) {
    if (e instanceof ProbeContextError) throw new RunInputError(`${e.message}: raise ${where}`);
    throw e;
  }
}
