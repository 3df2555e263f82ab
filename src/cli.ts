// The `azr` command line: one commander program, each subcommand's work delegated to its layer.
import { Command } from 'commander';
import { addPretrainCommand } from './actors/pretrainCommand.js';
import { addRunCommand } from './actors/runCommand.js';
import { addFeedCommands } from './feed/index.js';
import { addExecCommand } from './sandbox/execCommand.js';

/** Builds the program; subcommands are added here as the layers that implement them land. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('azr')
    .description(
      'Absolute Zero self-play (arXiv 2505.03335): a model proposes code-reasoning tasks, a sandboxed executor ' +
        'validates them, the same model solves them, and a learner improves it from verifiable rewards.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  addRunCommand(program);
  addPretrainCommand(program);
  addExecCommand(program);
  addFeedCommands(program);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
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
