// `azr run [SCENARIO] [--set key=value …] [--seed N] [--steps N] [--out DIR] [--resume RUN_DIR] [--port P] [--no-feed]`: self-play from the command line.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startFeed } from '../../feed/index.js';
import { NatsUnreachableError } from '../../nats/connection.js';
import { addFeedRunOptions, feedRunSettings } from './feed.js';
import {
  loadRunScenario,
  parseOverride,
  parseRunScenario,
  ScenarioLoadError,
  type Override,
} from '../../config/load.js';
import type { RunScenario } from '../../config/schema.js';
// runner.js pulls in TF.js and the whole run (~3 s to load): imported when a run starts, so `azr exec` etc. start fast.
import type { RunOptions, RunOutcome, StartFeed } from '../../run/runner.js';
import { collect, nonNegativeInt } from '../options.js';

/** The scenario `azr run` uses without an argument. */
export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../../scenarios/default.yaml', import.meta.url));

export interface RunCommandOptions {
  readonly scenario?: string;
  readonly set?: readonly string[];
  readonly seed?: number;
  readonly steps?: number;
  readonly out?: string;
  readonly resume?: string;
  readonly feed?: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly token?: string };
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly tty?: boolean;
  /** Install signal handlers (default true). */
  readonly signals?: boolean;
  readonly onStarted?: RunOptions['onStarted'];
}

/** Bad input (scenario, flags): exit code 2, nothing started. */
export class RunUsageError extends Error {
  override readonly name = 'RunUsageError';
}

/** The scenario a command line asks for: file (or the run's own scenario.yaml), then --set, --seed, --steps. */
export async function resolveRunScenario(o: RunCommandOptions): Promise<RunScenario> {
  const overrides: Override[] = [];
  try {
    for (const s of o.set ?? []) overrides.push(parseOverride(s));
    if (o.seed !== undefined) overrides.push({ path: ['seed'], value: o.seed, source: `seed=${o.seed}` });
    if (o.steps !== undefined)
      overrides.push({ path: ['selfPlay', 'steps'], value: o.steps, source: `selfPlay.steps=${o.steps}` });
    if (o.resume !== undefined) {
      if (o.scenario !== undefined)
        throw new RunUsageError('--resume continues the run with its own scenario.yaml: give no SCENARIO');
      const changed = overrides.filter((x) => x.path.join('.') !== 'selfPlay.steps');
      if (changed.length > 0)
        throw new RunUsageError(
          `--resume keeps the run's scenario; only --steps may change (got --set ${changed[0]!.source})`,
        );
      const file = path.join(o.resume, 'scenario.yaml');
      if (!existsSync(file))
        throw new RunUsageError(`--resume ${o.resume}: no scenario.yaml there (not a run directory)`);
      return await loadRunScenario(file, overrides);
    }
    if (o.scenario !== undefined) return await loadRunScenario(o.scenario, overrides);
    if (existsSync(DEFAULT_SCENARIO)) return await loadRunScenario(DEFAULT_SCENARIO, overrides);
    return parseRunScenario({}, 'the built-in defaults', overrides);
  } catch (e) {
    if (e instanceof ScenarioLoadError) throw new RunUsageError(e.message);
    throw e;
  }
}

/** Runs `azr run`: resolves the scenario (RunUsageError when bad), then runs self-play to the end. */
export async function runRunCommand(o: RunCommandOptions): Promise<RunOutcome> {
  const scenario = await resolveRunScenario(o);
  const feed = o.feed?.enabled
    ? {
        start: startFeed as unknown as StartFeed,
        host: o.feed.host,
        port: o.feed.port,
        ...(o.feed.token !== undefined ? { token: o.feed.token } : {}),
      }
    : undefined;
  const [{ runSelfPlay }, { RunInputError }] = await Promise.all([
    import('../../run/runner.js'),
    import('../../run/runInputs.js'),
  ]);
  try {
    return await runSelfPlay({
      scenario,
      ...(o.out !== undefined ? { out: o.out } : {}),
      ...(o.resume !== undefined ? { resumeDir: o.resume } : {}),
      ...(o.stdout ? { stdout: o.stdout } : {}),
      ...(o.stderr ? { stderr: o.stderr } : {}),
      ...(o.tty !== undefined ? { tty: o.tty } : {}),
      ...(o.signals !== undefined ? { signals: o.signals } : {}),
      ...(o.onStarted ? { onStarted: o.onStarted } : {}),
      ...(feed ? { feed } : {}),
    });
  } catch (e) {
    if (e instanceof RunInputError) throw new RunUsageError(e.message); // refused before the run directory exists
    throw e;
  }
}

/** Adds `run` to the azr command. Bad input exits 2 (through commander); a run that fails throws (exit 1). */
export function addRunCommand(
  program: Command,
  io: { stdout?: Writable; stderr?: Writable; signals?: boolean; onStarted?: RunOptions['onStarted'] } = {},
): Command {
  const command = program
    .command('run')
    .description(
      'Run Absolute Zero self-play from a scenario: start from the base model (named in the scenario, or built with ' +
        'pretraining on first use and cached), propose → validate → solve → verify → TRR++ → learn, step after step. ' +
        'Writes runs/<name>-<time>/: scenario.yaml, events.jsonl, metrics.csv, checkpoints/, report.md; one JSON line ' +
        'on stdout at the end. Ctrl-C stops cleanly (checkpoint, exit 0); a second Ctrl-C exits at once.',
    )
    .argument('[scenario]', 'scenario YAML (default scenarios/default.yaml)')
    .option(
      '--set <key=value>',
      'override a scenario field, e.g. --set selfPlay.batch.solve=16 (repeatable; the value is YAML)',
      collect,
    )
    .option('--seed <n>', 'root seed (overrides the scenario)', nonNegativeInt('--seed'))
    .option(
      '--steps <n>',
      'training steps (overrides selfPlay.steps; with --resume: run until this many)',
      nonNegativeInt('--steps'),
    )
    .option('--out <dir>', 'directory the run directory is created in', 'runs')
    .option('--resume <run-dir>', 'continue this run from its last checkpoint');
  addFeedRunOptions(command);
  command.action(async function (this: Command, scenario: string | undefined, opts: Record<string, unknown>) {
    let feed;
    try {
      feed = feedRunSettings(opts);
    } catch (e) {
      this.error(`error: ${(e as Error).message}`, { exitCode: 2, code: 'azr.usage' });
    }
    let outcome: RunOutcome;
    try {
      outcome = await runRunCommand({
        ...(scenario !== undefined ? { scenario } : {}),
        ...(opts.set !== undefined ? { set: opts.set as string[] } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed as number } : {}),
        ...(opts.steps !== undefined ? { steps: opts.steps as number } : {}),
        out: opts.out as string,
        ...(opts.resume !== undefined ? { resume: opts.resume as string } : {}),
        feed: {
          enabled: feed!.enabled,
          host: feed!.host,
          port: feed!.port,
          ...(feed!.token !== undefined ? { token: feed!.token } : {}),
        },
        ...(io.stdout ? { stdout: io.stdout } : {}),
        ...(io.stderr ? { stderr: io.stderr } : {}),
        ...(io.signals !== undefined ? { signals: io.signals } : {}),
        ...(io.onStarted ? { onStarted: io.onStarted } : {}),
      });
    } catch (e) {
      if (e instanceof RunUsageError || e instanceof NatsUnreachableError)
        this.error(`error: ${e.message}`, { exitCode: 2, code: 'azr.usage' });
      throw e;
    }
    if (outcome.reason === 'failed')
      throw new Error(`azr run failed: ${outcome.message ?? 'unknown error'} (see ${outcome.runDir})`);
  });
  return command;
}
