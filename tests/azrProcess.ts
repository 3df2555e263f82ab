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

export interface AzrOptions {
  /** Written to the child's stdin, which is then closed (default: no stdin). */
  readonly stdin?: string;
  /** The child's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Node options placed before the script, e.g. a V8 flag. */
  readonly nodeFlags?: readonly string[];
}

/** Starts `node bin/azr.js ARGS` in the repository root and collects its output. */
export function azr(args: readonly string[], options: AzrOptions = {}): AzrProcess {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), 'bin/azr.js', ...args], {
    cwd: ROOT,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exit };
}

/** Runs `node bin/azr.js ARGS` to its end: exit code and everything it wrote. */
export async function runAzr(
  args: readonly string[],
  options: AzrOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = azr(args, options);
  const code = await p.exit;
  return { code, ...p.out };
}
