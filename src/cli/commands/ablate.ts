// `azr ablate SWEEP.yaml [--seeds N] [--jobs J] [--out DIR] [--set k=v …]` and `azr report RUN_DIR… [--out DIR]`.

import type { Command } from 'commander';
import { AblateUsageError, runAblate } from '../../ablate/ablate.js';
import { findRunDirs, summarizeRun } from '../../ablate/report.js';
import { writeComparison } from '../../ablate/writeComparison.js';
import { collect, exitWith, positiveInt } from '../options.js';

/** Adds `ablate` to the azr command: exit 0 all runs completed, 1 some failed, 2 bad input, 130 stopped by Ctrl-C. */
export function addAblateCommand(program: Command): Command {
  return program
    .command('ablate')
    .description(
      'Run an ablation sweep: every variant × seed of SWEEP as its own `azr run` (at most --jobs at once), then compare ' +
        'them: OUT/report.md (final probe accuracy per task type, valid proposals, learnability, s/step: mean ± std over ' +
        'seeds), results.csv, runs.csv and plots/*.svg (with their Vega-Lite specs). Run it again to resume: completed ' +
        'runs are kept, unfinished ones continue from their last checkpoint. Ctrl-C stops every run cleanly.',
    )
    .argument('<sweep>', 'sweep YAML (see scenarios/ablations/, `azr schema sweep`)')
    .option('--seeds <n>', 'seeds 1..N for every variant (overrides the sweep)', positiveInt('--seeds'))
    .option('--jobs <j>', 'runs at once (default: the number of cores)', positiveInt('--jobs'))
    .option('--out <dir>', 'output directory (default runs/ablate-<sweep name>; the same one resumes)')
    .option('--set <key=value>', 'override a scenario field in every variant, last (repeatable)', collect)
    .option(
      '--nats <url>',
      'run the sweep on `azr worker`s through this NATS server (JetStream): each variant × seed a durable job; --jobs is then theirs',
    )
    .option(
      '--ack-wait <s>',
      'with --nats: a run whose worker is silent this long goes to another worker (default 30)',
      positiveInt('--ack-wait'),
    )
    .action(async function (
      this: Command,
      sweep: string,
      opts: { seeds?: number; jobs?: number; out?: string; set?: string[]; nats?: string; ackWait?: number },
    ) {
      let outcome;
      try {
        outcome = await runAblate({
          sweep,
          ...(opts.seeds !== undefined ? { seeds: opts.seeds } : {}),
          ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
          ...(opts.out !== undefined ? { out: opts.out } : {}),
          ...(opts.set !== undefined ? { set: opts.set } : {}),
          ...(opts.nats !== undefined ? { nats: opts.nats } : {}),
          ...(opts.ackWait !== undefined ? { ackWaitMs: opts.ackWait * 1000 } : {}),
        });
      } catch (e) {
        if (e instanceof AblateUsageError) this.error(`error: ${e.message}`, { exitCode: 2, code: 'azr.usage' });
        throw e;
      }
      process.stdout.write(
        JSON.stringify({
          outDir: outcome.outDir,
          runs: outcome.runs,
          completed: outcome.completed,
          skipped: outcome.skipped,
          failed: outcome.failed,
          interrupted: outcome.interrupted,
          report: outcome.comparison?.report ?? null,
        }) + '\n',
      );
      if (outcome.interrupted) exitWith(130);
      if (outcome.failed.length > 0) exitWith(1);
    });
}

/** Adds `report` to the azr command: the same comparison from runs that already exist. */
export function addReportCommand(program: Command): Command {
  return program
    .command('report')
    .description(
      'Compare existing runs: each RUN_DIR is a run directory or a folder holding some (e.g. an `azr ablate` output). ' +
        'Runs are grouped by their scenario name; writes report.md, results.csv, runs.csv and plots/ into --out.',
    )
    .argument('<run-dir...>', 'run directories, or folders searched for them')
    .option('--out <dir>', 'where the comparison is written', 'report')
    .action(async function (this: Command, dirs: string[], opts: { out: string }) {
      const runDirs = [...new Set(dirs.flatMap((d) => findRunDirs(d)))];
      if (runDirs.length === 0)
        this.error(`error: no run directory (holding events.jsonl) in ${dirs.join(', ')}`, {
          exitCode: 2,
          code: 'azr.usage',
        });
      const runs = [];
      for (const d of runDirs) {
        try {
          runs.push(await summarizeRun(d));
        } catch (e) {
          this.error(`error: ${(e as Error).message.split('\n').slice(0, 4).join('\n')}`, {
            exitCode: 2,
            code: 'azr.usage',
          });
        }
      }
      const files = await writeComparison(runs, opts.out, {
        title: 'Comparison of runs',
        notes: [
          `${runs.length} runs; ${runs.filter((r) => r.reason !== 'completed').length} not completed (included as they stand)`,
        ],
      });
      process.stderr.write(`azr report: ${files.variants.length} variants, ${runs.length} runs → ${files.report}\n`);
    });
}
