// The feed's command-line surface: `azr replay`, `azr watch`, and the feed options of `azr run`, for src/cli/index.ts to add.
import { Command, InvalidArgumentError, Option } from 'commander';
import { exitWith, numberOption } from '../options.js';
import { isLoopbackHost } from '../../feed/feedAccess.js';
import { DEFAULT_FEED_PORT } from '../../feed/protocol.js';
import { replayCommand } from '../../feed/replayCommand.js';
import { DEFAULT_WATCH_URL, watchCommand } from '../../feed/watchCommand.js';

/** Environment variable read when `--token` is not given (keeps the secret out of `ps`). */
export const FEED_TOKEN_ENV = 'AZR_FEED_TOKEN';

const port = numberOption(
  '--port',
  (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
  'an integer from 0 to 65535 (0: any free port)',
);
const seq = numberOption('--from-seq', (n) => Number.isSafeInteger(n) && n >= 0, 'an integer ≥ 0');

/** The feed settings of `azr run`, from its parsed options. */
export interface FeedRunSettings {
  /** False with `--no-feed`. */
  enabled: boolean;
  host: string;
  port: number;
  token: string | undefined;
}

/** Adds `--port`, `--host`, `--token` and `--no-feed` to a command (for `azr run`). */
export function addFeedRunOptions(command: Command): Command {
  return command
    .option('--port <port>', `port of the live feed and dashboard (0: any free port)`, port, DEFAULT_FEED_PORT)
    .option('--host <address>', 'interface the feed listens on; anything but loopback requires --token', '127.0.0.1')
    .addOption(
      new Option('--token <secret>', `token feed clients must send (default: $${FEED_TOKEN_ENV})`).env(FEED_TOKEN_ENV),
    )
    .option('--no-feed', 'do not start the live feed');
}

/** Reads the options added by {@link addFeedRunOptions}; throws InvalidArgumentError for a non-loopback host without a token. */
export function feedRunSettings(options: Record<string, unknown>): FeedRunSettings {
  const settings: FeedRunSettings = {
    enabled: options['feed'] !== false,
    host: typeof options['host'] === 'string' ? options['host'] : '127.0.0.1',
    port: typeof options['port'] === 'number' ? options['port'] : DEFAULT_FEED_PORT,
    token: typeof options['token'] === 'string' && options['token'] !== '' ? options['token'] : undefined,
  };
  if (settings.enabled && !isLoopbackHost(settings.host) && settings.token === undefined)
    throw new InvalidArgumentError(
      `--host ${settings.host} is not loopback: pass --token (or set $${FEED_TOKEN_ENV}), or use --no-feed.`,
    );
  return settings;
}

/** How a command's exit code leaves commander: by default a CommanderError with code 'azr.exit' for non-zero codes. */
export type ExitWith = (code: number) => void;

/** Adds `azr replay RUN_DIR` to the program. */
export function addReplayCommand(program: Command, exit: ExitWith = exitWith): Command {
  return program
    .command('replay')
    .description(
      'Serve a finished run over the live-feed protocol: its dashboard at http://HOST:PORT/ and `azr watch` work after the fact.',
    )
    .argument('<run-dir>', 'run directory (or its events.jsonl)')
    .option('--port <port>', 'port (0: any free port)', port, DEFAULT_FEED_PORT)
    .option('--host <address>', 'interface to listen on; anything but loopback requires --token', '127.0.0.1')
    .addOption(
      new Option('--token <secret>', `token clients must send (default: $${FEED_TOKEN_ENV})`).env(FEED_TOKEN_ENV),
    )
    .action(async (runDir: string, o: { port: number; host: string; token?: string }) => {
      exit(
        await replayCommand(runDir, {
          port: o.port,
          host: o.host,
          ...(o.token !== undefined ? { token: o.token } : {}),
        }),
      );
    });
}

/** Adds `azr watch [URL]` to the program. */
export function addWatchCommand(program: Command, exit: ExitWith = exitWith): Command {
  return program
    .command('watch')
    .description(
      'Follow a run in the terminal: step, rewards per role × task, valid rate, probe accuracy, queue depth.',
    )
    .argument('[url]', 'feed address (ws://, or the dashboard http:// address)', DEFAULT_WATCH_URL)
    .addOption(new Option('--token <secret>', `token to send (default: $${FEED_TOKEN_ENV})`).env(FEED_TOKEN_ENV))
    .option('--from-seq <n>', 'first event to read (default 0: the whole run)', seq, 0)
    .option('--plain', 'one line per step even on a terminal')
    .option('--follow', 'keep watching after the run finishes (e.g. for a resumed run)')
    .action(async (url: string, o: { token?: string; fromSeq: number; plain?: boolean; follow?: boolean }) => {
      exit(
        await watchCommand(url, {
          fromSeq: o.fromSeq,
          ...(o.token !== undefined ? { token: o.token } : {}),
          ...(o.plain === true ? { tty: false } : {}),
          exitOnFinish: o.follow !== true,
        }),
      );
    });
}

/** Adds both feed subcommands (`replay`, `watch`). */
export function addFeedCommands(program: Command, exit: ExitWith = exitWith): void {
  addReplayCommand(program, exit);
  addWatchCommand(program, exit);
}
