// The `azr` command line: one commander program, each subcommand's work delegated to its layer.
import { Command } from 'commander';

/** Builds the program; subcommands are added here as the layers that implement them land. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('azr')
    .description(
      'Absolute Zero self-play (arXiv 2505.03335): a model proposes code-reasoning tasks, a sandboxed executor\n' +
        'validates them, the same model solves them, and a learner improves it from verifiable rewards.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
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
    if (typeof code === 'number') return code === 1 ? 2 : code;
    throw err;
  }
}
