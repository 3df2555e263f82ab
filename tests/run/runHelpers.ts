// Helpers of the `azr run` tests: run the command in-process on a fresh commander program, read a run directory, check the event invariants.

import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { addRunCommand } from '../../src/cli/commands/run.js';
import { runInProcess } from '../inProcessCli.js';
import { parseRunEvent, type RunEvent, type RunEventOf } from '../../src/streams/events.js';

/**
 * Runs `azr run ARGS` in this process through `addRunCommand` on a fresh commander program, as src/cli/index.ts does
 * (with injected streams and no signal handlers); returns the exit code as `main` maps it, and the output.
 */
export function azrRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runInProcess('run', args, (program, io) => addRunCommand(program, { ...io, signals: false }));
}

/** The run directories under `out` (not the cache). */
export function runDirs(out: string): string[] {
  try {
    return readdirSync(out)
      .filter((n) => !n.startsWith('.'))
      .map((n) => path.join(out, n));
  } catch {
    return [];
  }
}

/** Every line of events.jsonl, parsed and schema-checked (a partial or bad line throws). */
export function readEvents(runDir: string): RunEvent[] {
  const text = readFileSync(path.join(runDir, 'events.jsonl'), 'utf8');
  if (!text.endsWith('\n')) throw new Error('events.jsonl ends with a partial line');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => parseRunEvent(JSON.parse(line), `events.jsonl line ${i + 1}`));
}

export function ofType<K extends RunEvent['type']>(events: readonly RunEvent[], type: K): RunEventOf<K>[] {
  return events.filter((e): e is RunEventOf<K> => e.type === type);
}

/** The events without what may differ between two runs of one seed: t, runId, throughput and durations. */
export function comparable(events: readonly RunEvent[]): string[] {
  return events.map((e) => {
    const { t: _t, runId: _runId, ...rest } = e as Record<string, unknown>;
    for (const key of ['tokensPerSecond', 'durationMs', 'phases', 'stallMs', 'trainSeconds']) delete rest[key];
    // executor.stats counts every run of the sandbox pool so far, and the supervised term's data stream
    // (learner.sftCoef > 0) labels its next chunk through the same pool in the background, as far ahead as the clock
    // allows: a throughput counter, not a result (seen: 832 against 1003 runs after step 1 of two tiny runs)
    if (rest['type'] === 'executor.stats') delete rest['runs'];
    return JSON.stringify(rest);
  });
}

/** The learnability rule (paper Eq. 4, unlearnable = 0): 1 − mean when 0 < mean < 1, else 0. */
export function learnability(successes: readonly number[]): number {
  const mean = successes.reduce((a, b) => a + b, 0) / successes.length;
  return mean > 0 && mean < 1 ? 1 - mean : 0;
}

/** Asserts the invariants every finished run must hold; returns a list of violations (empty = fine). */
export function invariantViolations(events: readonly RunEvent[], steps: number): string[] {
  const v: string[] = [];
  events.forEach((e, i) => e.seq !== i && v.push(`seq ${e.seq} at line ${i + 1}`));
  for (let i = 1; i < events.length; i++)
    if (events[i]!.step < events[i - 1]!.step) v.push(`step goes back at seq ${events[i]!.seq}`);
  const learned = ofType(events, 'learner.step').map((e) => e.step);
  if (JSON.stringify(learned) !== JSON.stringify(Array.from({ length: steps }, (_, i) => i + 1)))
    v.push(`learner.step steps ${learned.join(',')}`);
  const ids = ofType(events, 'rollout.scored').map((e) => e.id);
  if (new Set(ids).size !== ids.length) v.push('a rollout was scored twice');
  for (let step = 1; step <= steps; step++) {
    const scored = ofType(events, 'rollout.scored').filter((e) => e.step === step);
    const groups = new Map<string, { reward: number; advantage: number }[]>();
    for (const e of scored) groups.set(`${e.role}/${e.task}`, [...(groups.get(`${e.role}/${e.task}`) ?? []), e]);
    if (groups.size !== 6) v.push(`step ${step}: ${groups.size} advantage groups, not 6`);
    for (const [key, g] of groups) {
      const varies = new Set(g.map((x) => x.reward)).size > 1;
      const mean = g.reduce((a, x) => a + x.advantage, 0) / g.length;
      if (varies && Math.abs(mean) > 1e-6) v.push(`step ${step} ${key}: mean advantage ${mean}`);
      if (!varies && g.some((x) => x.advantage !== 0)) v.push(`step ${step} ${key}: equal rewards, non-zero advantage`);
    }
    const proposerReward = new Map(scored.filter((e) => e.role === 'propose').map((e) => [e.id, e.reward]));
    for (const p of ofType(events, 'proposal.validated').filter((e) => e.step === step)) {
      const reward = proposerReward.get(p.rolloutId);
      if (reward === undefined) continue; // not trained (e.g. an executor failure)
      const rule = !p.valid ? -1 : learnability(p.mcSuccesses);
      if (p.valid && p.learnability !== rule)
        v.push(`${p.rolloutId}: learnability ${p.learnability}, rule gives ${rule}`);
      const expected = rule + (p.novelty ?? 0); // selfPlay.novelty's bonus, when on
      if (Math.abs(reward - expected) > 1e-12)
        v.push(`${p.rolloutId}: proposer reward ${reward}, rule gives ${expected}`);
    }
  }
  return v;
}
