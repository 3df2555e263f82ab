// One azr subcommand run in this process on a fresh commander program, with captured output: for tests that need
// injected streams or no signal handlers (a child process cannot give them).
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { runProgram } from '../src/cli/index.js';

/** The streams a command writes to. */
export interface CommandIo {
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
}

/**
 * Registers one subcommand with `register`, runs `azr NAME ARGS`, and returns the exit code exactly as `main` maps it
 * (src/cli/index.ts `runProgram`) together with everything written to stdout and stderr.
 */
export async function runInProcess(
  name: string,
  args: readonly string[],
  register: (program: Command, io: CommandIo) => void,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = { stdout: new PassThrough(), stderr: new PassThrough() };
  let out = '';
  let err = '';
  io.stdout.on('data', (d: Buffer) => (out += d.toString()));
  io.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const program = new Command().name('azr').exitOverride();
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  register(program, io);
  const code = await runProgram(program, ['node', 'azr', name, ...args]);
  return { code, stdout: out, stderr: err };
}
