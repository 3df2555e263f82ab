// `azr worker --nats URL [--jobs J] [--executors N] [--dir DIR]`: one machine's share of the work over NATS — whole
// runs of a sweep (JetStream jobs) and executor batches (requests in the azr.exec queue group).

import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AZR_BIN } from '../../ablate/ablate.js';
import { SweepWorker } from '../../ablate/natsSweep.js';
import { connectNats, NatsUnreachableError } from '../../nats/connection.js';
import { serveExecutor, type ExecutorWorker } from '../../nats/executorWorker.js';
import { SandboxPool } from '../../sandbox/index.js';
import { nonNegativeInt, positiveInt } from '../options.js';

const PRELOAD = fileURLToPath(new URL('../../ablate/exitWithParent.mjs', import.meta.url));

/** Adds `worker` to the azr command: runs until Ctrl-C (exit 0) or the server is unreachable at start (exit 2). */
export function addWorkerCommand(program: Command): Command {
  return program
    .command('worker')
    .description(
      'Take work from a NATS server (JetStream): runs of `azr ablate --nats` sweeps (at most --jobs at once, each an ' +
        '`azr run` child; a redelivered run resumes from its last stored checkpoint) and executor batches of runs with ' +
        '`executor.transport: nats` (--executors sandbox threads). Start as many as you like, on as many machines. ' +
        'Ctrl-C stops cleanly: running runs checkpoint and go back to the queue.',
    )
    .requiredOption('--nats <url>', 'the NATS server, e.g. nats://127.0.0.1:4222 (started with `nats-server -js`)')
    .option('--jobs <j>', 'sweep runs at once (0: none)', nonNegativeInt('--jobs'), 1)
    .option(
      '--executors <n>',
      'sandbox worker threads serving executor batches (0: none)',
      nonNegativeInt('--executors'),
      1,
    )
    .option('--dir <dir>', 'where the runs live', 'runs/worker')
    .option('--cache <dir>', 'where the runs cache base models (default DIR/.cache; workers may share one)')
    .option(
      '--timeout-ms <ms>',
      'in-VM deadline per program run (as executor.timeoutMs)',
      positiveInt('--timeout-ms'),
      1000,
    )
    .action(async function (
      this: Command,
      opts: { nats: string; jobs: number; executors: number; dir: string; cache?: string; timeoutMs: number },
    ) {
      const say = (line: string) => process.stderr.write(`${line}\n`);
      if (opts.jobs === 0 && opts.executors === 0)
        this.error('error: --jobs 0 and --executors 0 leave the worker nothing to do', {
          exitCode: 2,
          code: 'azr.usage',
        });
      let nc;
      try {
        nc = await connectNats(opts.nats, { name: `azr worker ${process.pid}` });
      } catch (e) {
        if (e instanceof NatsUnreachableError) this.error(`error: ${e.message}`, { exitCode: 2, code: 'azr.usage' });
        throw e;
      }
      let pool: SandboxPool | null = null;
      let executor: ExecutorWorker | null = null;
      if (opts.executors > 0) {
        pool = new SandboxPool({ workers: opts.executors, limits: { timeoutMs: opts.timeoutMs } });
        await pool.ready();
        executor = serveExecutor(nc, pool, { concurrency: opts.executors });
      }
      let sweeps: SweepWorker | null = null;
      if (opts.jobs > 0) {
        const workDir = path.resolve(opts.dir);
        await mkdir(workDir, { recursive: true });
        sweeps = new SweepWorker({
          nc,
          jobs: opts.jobs,
          workDir,
          ...(opts.cache !== undefined ? { cacheDir: opts.cache } : {}),
          azrBin: AZR_BIN,
          preload: PRELOAD,
          say,
        });
        await sweeps.start();
      }
      await nc.flush();
      say(
        `azr worker: ready at ${opts.nats} (pid ${process.pid}): ${opts.jobs} sweep run(s) at once, ${opts.executors} executor thread(s)`,
      );
      // Ctrl-C / SIGTERM: the first stops cleanly, the second exits at once
      let stops = 0;
      const stopped = new Promise<void>((resolve) => {
        const onSignal = () => {
          stops++;
          if (stops > 1) process.exit(130);
          say('azr worker: stopping — running runs checkpoint and go back to the queue (Ctrl-C again to exit at once)');
          resolve();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      await stopped;
      await sweeps?.stop();
      await executor?.stop();
      await pool?.close();
      await nc.drain();
      say(`azr worker: stopped (${sweeps?.completed ?? 0} runs completed here)`);
    });
}
