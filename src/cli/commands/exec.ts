// `azr exec [FILE]`: the command's options and wiring; the streaming itself (runExec.ts) loads only when it runs.
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_BANNED } from '../../sandbox/defaultBanned.js';
import {
  DEFAULT_LIMITS,
  resolveLimits,
  type BannedRule,
  type Isolation,
  type SandboxLimits,
} from '../../sandbox/types.js';
import { positiveInt } from '../options.js';

function isolationMode(v: string): Isolation {
  if (v !== 'hardened' && v !== 'fresh') throw new InvalidArgumentError("it must be 'hardened' or 'fresh'.");
  return v;
}

function nameList(v: string, prev: string[] = []): string[] {
  return prev.concat(
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

/** Adds `exec` to the azr command. */
export function addExecCommand(program: Command): void {
  const d = DEFAULT_LIMITS;
  program
    .command('exec')
    .description(
      'Run programs in the sandbox: reads JSON Lines {"program","input","expected"?} from FILE or stdin and writes one ' +
        'JSON line per request, in order: {"ok":true,"output":<canonical text>,"match"?} or {"ok":false,"error":{kind,message}}.',
    )
    .argument('[file]', 'JSON Lines file (default: stdin; "-" also means stdin)')
    .option('--no-validate', 'skip the static (banned capability) check and the determinism check')
    .option(
      '--isolation <mode>',
      "'hardened': programs share a deep-frozen context, restored after each; 'fresh': a new context per program",
      isolationMode,
      'hardened',
    )
    .option('-j, --workers <n>', 'worker threads (default: number of cores)', positiveInt('--workers'))
    .option('--window <n>', 'most requests in flight (read but not yet written)', positiveInt('--window'), 1024)
    .option('--timeout <ms>', 'in-VM deadline per request (both calls)', positiveInt('--timeout'), d.timeoutMs)
    .option(
      '--budget <n>',
      'in-VM instruction budget: interrupt checks per request (~10k operations each)',
      positiveInt('--budget'),
      d.interruptBudget,
    )
    .option(
      '--wall <ms>',
      'wall-clock watchdog per request: the worker is restarted beyond it',
      positiveInt('--wall'),
      d.wallClockMs,
    )
    .option('--memory <MiB>', 'QuickJS memory limit', positiveInt('--memory'), d.memoryBytes / 2 ** 20)
    .option('--stack <KiB>', 'QuickJS stack limit (at most 256)', positiveInt('--stack'), d.stackBytes / 1024)
    .option(
      '--max-output <chars>',
      'cap on the canonical text of an output',
      positiveInt('--max-output'),
      d.maxOutputChars,
    )
    .option('--allow <names>', 'remove names from the banned list (comma-separated, repeatable)', nameList)
    .option('--ban <names>', 'add names to the banned list (comma-separated, repeatable)', nameList)
    .option('-q, --quiet', 'no summary line on stderr')
    .action(async function (this: Command, file: string | undefined, o: Record<string, unknown>) {
      const limits: Partial<SandboxLimits> = {
        timeoutMs: o.timeout as number,
        interruptBudget: o.budget as number,
        wallClockMs: o.wall as number,
        memoryBytes: (o.memory as number) * 2 ** 20,
        stackBytes: (o.stack as number) * 1024,
        maxOutputChars: o.maxOutput as number,
      };
      try {
        resolveLimits(limits);
      } catch (e) {
        this.error(`error: ${(e as Error).message}`, { exitCode: 2, code: 'azr.usage' });
      }
      const allow = new Set((o.allow as string[] | undefined) ?? []);
      const banned: BannedRule[] = DEFAULT_BANNED.filter((r) => !allow.has(r.name)).concat(
        ((o.ban as string[] | undefined) ?? []).map((name) => ({ name, reason: 'banned by --ban' })),
      );
      let input: Readable = process.stdin;
      if (file !== undefined && file !== '-') {
        try {
          await access(file, constants.R_OK);
          if ((await stat(file)).isDirectory()) throw new Error('is a directory');
        } catch (e) {
          this.error(`error: cannot read ${file}: ${(e as Error).message}`, { exitCode: 2, code: 'azr.usage' });
        }
        input = createReadStream(file);
      }
      const { runExec } = await import('../../sandbox/runExec.js');
      const { outputError } = await runExec(input, process.stdout, process.stderr, {
        validate: o.validate as boolean,
        workers: o.workers as number | undefined,
        window: o.window as number,
        limits,
        banned,
        quiet: o.quiet === true,
        isolation: o.isolation as Isolation,
      });
      if (outputError) {
        this.showHelpAfterError(false); // not a usage error
        this.error(`error: cannot write the answers: ${outputError.message}`, { exitCode: 3, code: 'azr.output' });
      }
    });
}
