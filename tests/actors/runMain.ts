// The `azr` program with `run` in it, for the run tests' subprocesses: src/cli.ts's program, plus `run` until cli.ts adds it itself.
import { buildProgram } from '../../src/cli.js';
import { addRunCommand } from '../../src/actors/runCommand.js';

const program = buildProgram();
if (!program.commands.some((c) => c.name() === 'run')) addRunCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  const code = (e as { exitCode?: number; code?: string }).exitCode;
  if (typeof code !== 'number') throw e;
  process.exitCode = code === 1 ? 2 : code;
}
