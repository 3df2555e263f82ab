// `executor.rejectInputIgnoring` through the real runner: a tiny run (real model, sandbox pool, executor service,
// coordinator) of the random-tasks control (`policy.proposer: generator`), whose proposals at the training step are
// replaced, one per deduction and abduction call, by a constant program. On, the executor rejects it (kind
// `input_ignoring`) and it never reaches a buffer; off, the same program is valid and buffered.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLatestCheckpoint } from '../../src/services/checkpointStore.js';
import { runSelfPlay } from '../../src/run/runner.js';
import { argsLexemes, lex } from '../../src/azr/index.js';
import type { Effects } from '../../src/machines/effects.js';
import { loadRunScenario, parseOverride } from '../../src/config/load.js';
import type { RunEventOf } from '../../src/streams/events.js';
import { REAL_RUN_CACHE, TINY_SCENARIO } from '../feed/helpers.js';
import { ofType, readEvents } from './runHelpers.js';

/** A program whose output does not depend on its input. */
const CONSTANT = 'function f(n) { return 7; }';

/** The run's proposer, except that each training call's first deduction and abduction proposals are {@link CONSTANT}. */
function proposingTheConstant(effects: Effects): Effects {
  const program = lex(CONSTANT, 'program');
  if (!program.ok) throw new Error(`${CONSTANT} does not lex`);
  const segments = [[...program.lexemes], argsLexemes([3])];
  return {
    ...effects,
    policy: {
      generate: async (input) => {
        const out = await effects.policy.generate(input);
        if (input.purpose !== 'train') return out;
        const replaced = new Set(
          (['deduction', 'abduction'] as const).flatMap((type) => {
            const first = input.requests.find((r) => r.role === 'propose' && r.view.type === type);
            return first ? [first.id] : [];
          }),
        );
        return out.map((c) => (c.ok && replaced.has(c.id) ? { ...c, segments } : c));
      },
    },
  };
}

interface Outcome {
  readonly proposals: RunEventOf<'proposal.validated'>[];
  readonly buffered: string[];
}

/** One self-play step of the tiny scenario as the random-tasks control, with rejectInputIgnoring on or off. */
async function run(rejectInputIgnoring: boolean): Promise<Outcome> {
  const scenario = await loadRunScenario(
    TINY_SCENARIO,
    [
      `run.cacheDir=${REAL_RUN_CACHE}`,
      'selfPlay.steps=1',
      'policy.proposer=generator',
      'selfPlay.trainProposer=false',
      `executor.rejectInputIgnoring=${rejectInputIgnoring}`,
    ].map(parseOverride),
  );
  const outcome = await runSelfPlay({
    scenario,
    out: path.join(out, String(rejectInputIgnoring)),
    stderr: new PassThrough().resume(),
    stdout: new PassThrough().resume(),
    tty: false,
    signals: false,
    instrument: proposingTheConstant,
  });
  expect(outcome.reason, outcome.message).toBe('completed');
  const checkpoint = await loadLatestCheckpoint(outcome.runDir);
  expect(checkpoint?.data.step).toBe(1);
  const { buffers } = checkpoint!.data;
  return {
    proposals: ofType(readEvents(outcome.runDir), 'proposal.validated').filter((e) => e.step === 1),
    buffered: [...buffers.deduction.entries, ...buffers.abduction.entries].map((e) => e.task.program),
  };
}

let out: string;
let on: Outcome;
let off: Outcome;
beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'azr-input-ignoring-'));
  on = await run(true);
  off = await run(false);
}, 300_000);
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('executor.rejectInputIgnoring in a real run', () => {
  it('on: the constant program is rejected with kind input_ignoring and never buffered; other proposals pass', () => {
    // never buffered, so no induction proposal is made for it either
    const constant = on.proposals.filter((p) => p.program === CONSTANT);
    expect(constant.map((p) => p.task).sort()).toEqual(['abduction', 'deduction']);
    for (const p of constant) expect(p).toMatchObject({ valid: false, error: 'input_ignoring', output: null });
    expect(on.buffered).not.toContain(CONSTANT);
    expect(on.proposals.some((p) => p.program !== CONSTANT && p.valid)).toBe(true);
  });

  it('off (the paper): the same program is valid, with its output, and joins the buffers', () => {
    // (once buffered, the induction proposer may draw it too: those proposals are not the replaced ones)
    const constant = off.proposals.filter((p) => p.program === CONSTANT && p.task !== 'induction');
    expect(constant.map((p) => p.task).sort()).toEqual(['abduction', 'deduction']);
    for (const p of constant) expect(p).toMatchObject({ valid: true, input: '3', output: '7' });
    expect(off.buffered.filter((program) => program === CONSTANT)).toHaveLength(2);
  });
});
