// `azr pretrain [SCENARIO] --out DIR [--set key=value …] [--seed N] [--steps N | --minutes M]`: the base-model phase from the command line.

import type { Writable } from 'node:stream';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { formatBackendReport } from '../../gpu/backend.js';
import { ScenarioError, type PretrainScenario } from '../../config/pretrainConfig.js';
import { loadPretrainScenario, parseOverride, ScenarioLoadError, type Override } from '../../config/load.js';
import { InitBaseError, pretrain, type PretrainProgress, type PretrainResult } from '../../pretrain/pretrain.js';
import { formatAccuracy, loadProbeTasks, ProbeContextError } from '../../pretrain/probeEval.js';
import { collect, nonNegativeInt, positiveInt, positiveNumber } from '../options.js';

export interface PretrainCommandOptions {
  /** Scenario file (YAML); absent = the defaults. */
  readonly scenario?: string;
  /** `key.path=value` overrides of the seed, model: and pretrain: fields, applied after the file. */
  readonly set?: readonly string[];
  /** Output directory of the base checkpoint. */
  readonly out: string;
  readonly seed?: number;
  readonly steps?: number;
  readonly minutes?: number;
  /** Probe every this many steps (the learning curve). */
  readonly probeEvery?: number;
  /** Probe set file (default scenarios/probe.jsonl). */
  readonly probe?: string;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Force the progress style (default: a bar when stderr is a TTY). */
  readonly tty?: boolean;
}

/** A usage error: bad flags or a bad scenario. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The scenario the options describe: file (or defaults), then the command-line overrides, checked. */
export async function resolvePretrainScenario(o: PretrainCommandOptions): Promise<PretrainScenario> {
  if (o.steps !== undefined && o.minutes !== undefined)
    throw new UsageError('--steps and --minutes are alternatives: give one budget');
  if (o.out === undefined || o.out === '') throw new UsageError('--out DIR is required');
  try {
    // --set first, then the flags (as azr run): one pass over the file's fields, checked once
    const overrides: Override[] = (o.set ?? []).map(parseOverride);
    const flag = (path: string[], value: unknown) =>
      overrides.push({ path, value, source: `${path.join('.')}=${String(value)}` });
    if (o.seed !== undefined) flag(['seed'], o.seed);
    if (o.steps !== undefined) {
      flag(['pretrain', 'steps'], o.steps);
      flag(['pretrain', 'minutes'], null);
    }
    if (o.minutes !== undefined) flag(['pretrain', 'minutes'], o.minutes);
    if (o.probeEvery !== undefined) flag(['pretrain', 'probeEvery'], o.probeEvery);
    return await loadPretrainScenario(o.scenario ?? null, overrides);
  } catch (e) {
    if (e instanceof ScenarioError || e instanceof ScenarioLoadError) throw new UsageError(e.message);
    throw e;
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Progress on stderr: a cli-progress bar on a TTY, plain lines (every 15 s and at each probe) otherwise. */
function progressReporter(
  stderr: Writable,
  tty: boolean,
): { onProgress: (p: PretrainProgress) => void; stop: () => void } {
  let bar: SingleBar | null = null;
  let total: number | null = null;
  let minutes: number | null = null;
  let lastLine = 0;
  let loss = NaN;
  const line = (s: string) => {
    // a message interrupts the bar; the next step starts a new one below it
    bar?.stop();
    bar = null;
    stderr.write(s + '\n');
  };
  const onProgress = (p: PretrainProgress) => {
    switch (p.kind) {
      case 'backend':
        line(`azr pretrain: ${formatBackendReport(p.report)}`);
        break;
      case 'start':
        total = p.steps;
        minutes = p.minutes;
        line(
          `azr pretrain: ${p.parameters.toLocaleString('en-US')} parameters, budget ${total !== null ? `${total} steps` : `${minutes} min`}, ` +
            `${p.threads} training thread${p.threads === 1 ? '' : 's'}`,
        );
        break;
      case 'step': {
        loss = Number.isNaN(loss) ? p.loss : 0.95 * loss + 0.05 * p.loss;
        if (tty) {
          const max = total ?? Math.round((minutes ?? 1) * 60);
          const value = total !== null ? p.step : Math.min(max, Math.round(p.trainSeconds));
          if (bar === null) {
            bar = new SingleBar(
              {
                stream: stderr as NodeJS.WritableStream,
                format:
                  'pretrain [{bar}] {percentage}% | step {step} | loss {loss} | lr {lr} | {tps} tok/s | {eta_formatted}',
                hideCursor: true,
              },
              undefined,
            );
            bar.start(max, value, {
              step: p.step,
              loss: loss.toFixed(3),
              lr: p.lr.toExponential(1),
              tps: Math.round(p.tokensPerSecond),
            });
          } else
            bar.update(value, {
              step: p.step,
              loss: loss.toFixed(3),
              lr: p.lr.toExponential(1),
              tps: Math.round(p.tokensPerSecond),
            });
        } else if (p.trainSeconds - lastLine >= 15) {
          lastLine = p.trainSeconds;
          line(
            `step ${p.step}${total !== null ? `/${total}` : ''}  loss ${loss.toFixed(3)}  lr ${p.lr.toExponential(2)}  ${p.trainSeconds.toFixed(0)} s training  ${Math.round(p.tokensPerSecond)} tok/s`,
          );
        }
        break;
      }
      case 'probe':
        line(
          `probe @ step ${p.point.step} (${p.point.seconds.toFixed(0)} s): ${formatAccuracy(p.report.accuracy)}; reasoned first ${(100 * p.report.traceShare.overall).toFixed(1)}%  [${p.report.seconds.toFixed(1)} s]`,
        );
        break;
    }
  };
  return { onProgress, stop: () => bar?.stop() };
}

/** Runs `azr pretrain`; resolves to the result (throws UsageError on bad input). Writes progress to stderr and the JSON line to stdout. */
export async function runPretrainCommand(o: PretrainCommandOptions): Promise<PretrainResult> {
  const scenario = await resolvePretrainScenario(o);
  let probeTasks;
  if (o.probe !== undefined) {
    try {
      probeTasks = await loadProbeTasks(o.probe);
    } catch (e) {
      throw new UsageError(`cannot read the probe set ${o.probe}: ${(e as Error).message}`);
    }
  }
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const reporter = progressReporter(stderr, o.tty ?? (stderr as { isTTY?: boolean }).isTTY === true);
  let result: PretrainResult;
  try {
    result = await pretrain({
      scenario,
      out: o.out,
      onProgress: reporter.onProgress,
      ...(probeTasks ? { probeTasks } : {}),
    });
  } catch (e) {
    if (e instanceof ProbeContextError) throw new UsageError(`${e.message}: raise model.contextLength`);
    if (e instanceof InitBaseError) throw new UsageError(e.message);
    throw e;
  } finally {
    reporter.stop();
  }
  const a = result.probeStart.accuracy.overall;
  const b = result.probeEnd.accuracy.overall;
  stderr.write(
    `azr pretrain: ${result.steps} steps in ${result.seconds.toFixed(0)} s${result.cpuSeconds === null ? '' : ` (trainer thread CPU ${result.cpuSeconds.toFixed(0)} s)`}; probe ${pct(a)} → ${pct(b)} (${b >= a ? '+' : ''}${(100 * (b - a)).toFixed(1)} points); ` +
      `${formatAccuracy(result.probeEnd.accuracy)}; base checkpoint in ${o.out}\n`,
  );
  stdout.write(
    JSON.stringify({
      probeStart: round(a),
      probeEnd: round(b),
      seconds: round(result.seconds, 1),
      steps: result.steps,
      cpuSeconds: result.cpuSeconds === null ? null : round(result.cpuSeconds, 1),
    }) + '\n',
  );
  return result;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `azr pretrain` as a function: 0 done, 2 bad input (the message on stderr). Other failures throw. */
export async function pretrainCommand(o: PretrainCommandOptions): Promise<number> {
  try {
    await runPretrainCommand(o);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      (o.stderr ?? process.stderr).write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** Adds `pretrain` to the azr command (usage errors exit 2 through commander). */
export function addPretrainCommand(program: Command, io: { stdout?: Writable; stderr?: Writable } = {}): void {
  program
    .command('pretrain')
    .description(
      'Train the base model: next-token training on task-language programs sampled from the grammar and labelled by the ' +
        'executor (the six prompt formats, and drills of trace steps and of read steps when weighted; probe programs never included), from fresh weights or from a base checkpoint (pretrain.init), probe accuracy at start and end, a base ' +
        'checkpoint in DIR, and one JSON line on stdout: {"probeStart","probeEnd","seconds","steps","cpuSeconds"}.',
    )
    .argument(
      '[scenario]',
      'scenario YAML with model: and pretrain: sections (default: the built-in defaults, as scenarios/pretrain.yaml)',
    )
    .requiredOption(
      '-o, --out <dir>',
      'directory for the base checkpoint (created; an existing checkpoint there is replaced)',
    )
    .option(
      '--set <key=value>',
      'override a model: or pretrain: field, e.g. --set model.width=128 (repeatable; the value is YAML)',
      collect,
    )
    .option('--seed <n>', 'root seed (overrides the scenario)', nonNegativeInt('--seed'))
    .option('--steps <n>', 'optimizer steps (deterministic budget; overrides the scenario)', positiveInt('--steps'))
    .option('--minutes <m>', 'training minutes instead of steps (not deterministic)', positiveNumber('--minutes'))
    .option(
      '--probe-every <n>',
      'also probe every N steps (the learning curve; 0 = start and end only)',
      nonNegativeInt('--probe-every'),
    )
    .option('--probe <file>', 'probe set JSONL (default scenarios/probe.jsonl)')
    .action(async function (this: Command, scenario: string | undefined, opts: Record<string, unknown>) {
      try {
        await runPretrainCommand({
          ...(scenario === undefined ? {} : { scenario }),
          ...(opts.set === undefined ? {} : { set: opts.set as string[] }),
          out: opts.out as string,
          ...(opts.seed === undefined ? {} : { seed: opts.seed as number }),
          ...(opts.steps === undefined ? {} : { steps: opts.steps as number }),
          ...(opts.minutes === undefined ? {} : { minutes: opts.minutes as number }),
          ...(opts.probeEvery === undefined ? {} : { probeEvery: opts.probeEvery as number }),
          ...(opts.probe === undefined ? {} : { probe: opts.probe as string }),
          ...(io.stdout ? { stdout: io.stdout } : {}),
          ...(io.stderr ? { stderr: io.stderr } : {}),
        });
      } catch (e) {
        if (e instanceof UsageError) this.error(`error: ${e.message}`, { exitCode: 2, code: 'azr.usage' });
        throw e;
      }
    });
}
