// Helpers of the NATS tests: `azr worker` child processes (each in its own process group, so a test can freeze or
// kill a worker together with its runs), waited for until ready, always stopped after.
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from '../azrProcess.js';
import { waitUntil } from '../support/waitUntil.js';

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly out: { stdout: string; stderr: string };
  readonly exit: Promise<number | null>;
  /** Sends a signal to the worker and every run it started. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Ctrl-C, then SIGKILL to the group if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `azr worker --nats URL ARGS` and resolves once it says it is ready (at most 60 s). */
export async function startWorker(url: string, args: readonly string[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['bin/azr.js', 'worker', '--nats', url, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  const w: WorkerProcess = {
    child,
    out,
    exit,
    signalGroup,
    async stop(graceMs = 20_000) {
      if (exited) {
        signalGroup('SIGKILL'); // runs it may have left
        return;
      }
      signalGroup('SIGCONT');
      child.kill('SIGINT');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
      signalGroup('SIGKILL');
    },
  };
  await waitUntil(() => out.stderr.includes('azr worker: ready') || exited, {
    what: 'the worker to be ready',
    timeoutMs: 60_000,
    detail: () => out.stderr,
  });
  if (exited) throw new Error(`azr worker exited at start:\n${out.stderr}`);
  return w;
}
