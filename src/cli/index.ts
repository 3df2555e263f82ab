// The `azr` command line: one commander program, each subcommand's work delegated to its layer.
import { Command } from 'commander';

/**
 * Where each subcommand is defined. Modules load on demand: `azr exec` must not pay for TF.js (~1.5 s) or the
 * feed server, so a known subcommand loads only its own module; anything else (`--help`, a typo) loads them all.
 */
const COMMANDS: Readonly<Record<string, () => Promise<(program: Command) => unknown>>> = {
  run: async () => (await import('./commands/run.js')).addRunCommand,
  pretrain: async () => (await import('./commands/pretrain.js')).addPretrainCommand,
  exec: async () => (await import('./commands/exec.js')).addExecCommand,
  replay: async () => (await import('./commands/feed.js')).addReplayCommand,
  watch: async () => (await import('./commands/feed.js')).addWatchCommand,
  ablate: async () => (await import('./commands/ablate.js')).addAblateCommand,
  report: async () => (await import('./commands/ablate.js')).addReportCommand,
  worker: async () => (await import('./commands/worker.js')).addWorkerCommand,
  schema: async () => (await import('./commands/schema.js')).addSchemaCommand,
};

/** Builds the program with the named subcommands (default: all of them, in help order). */
export async function buildProgram(only?: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('azr')
    .description(
      'Absolute Zero self-play (arXiv 2505.03335): a model proposes code-reasoning tasks, a sandboxed executor ' +
        'validates them, the same model solves them, and a learner improves it from verifiable rewards.',
    )
    .version('0.1.0')
    .showHelpAfterError("see 'azr --help'")
    .exitOverride();
  for (const name of only ?? Object.keys(COMMANDS)) {
    if (Object.hasOwn(COMMANDS, name)) (await COMMANDS[name]!())(program);
  }
  // a usage error prints the error and where the help is, not the whole help
  for (const command of program.commands) command.showHelpAfterError(`see 'azr ${command.name()} --help'`);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 2 usage error, or the command's own code). */
export async function main(argv: string[]): Promise<number> {
  const sub = argv[2];
  return runProgram(await buildProgram(sub !== undefined && Object.hasOwn(COMMANDS, sub) ? [sub] : undefined), argv);
}

/** Parses `argv` with `program` (built with `exitOverride`) and maps how it ended to azr's exit code. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    const code = (err as { exitCode?: number; code?: string }).exitCode;
    const c = (err as { code?: string }).code;
    if (c === 'commander.helpDisplayed' || c === 'commander.version' || c === 'commander.help') return 0;
    // A command's own exit code (e.g. replay/watch) passes through as it is.
    if (c === 'azr.exit' && typeof code === 'number') return code;
    // Commander's own parse errors carry exit code 1: for azr those are usage errors (2).
    if (typeof code === 'number') return code === 1 ? 2 : code;
    throw err;
  }
}
