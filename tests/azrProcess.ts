// `node bin/azr.js ARGS` as a child process, for the tests that drive the real command line.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (the child's working directory). */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface AzrProcess {
  readonly child: ChildProcess;
  /** Everything written so far (grows while the child runs). */
  readonly out: { stdout: string; stderr: string };
  /** The exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
}

/** Starts `node bin/azr.js ARGS` in the repository root and collects its output. */
export function azr(args: readonly string[]): AzrProcess {
  const child = spawn(process.execPath, ['bin/azr.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exit };
}
