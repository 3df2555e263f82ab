// A real nats-server (Debian's, never a downloaded one) for the tests: JetStream on, a free loopback port, a store in a
// temporary directory; started, awaited until it accepts connections, stopped (and restartable on the same store).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The server binary: `AZR_NATS_SERVER` or `nats-server` on the PATH (Debian installs /usr/sbin/nats-server). */
export const NATS_SERVER_BIN = process.env['AZR_NATS_SERVER'] ?? findOnPath('nats-server');

/** `.ci/run` sets AZR_REQUIRE_NATS=1: a missing nats-server is then a failure, not a skip. */
export const requireNats = process.env['AZR_REQUIRE_NATS'] === '1';
export const haveNats = NATS_SERVER_BIN !== undefined;
/** The message of the one test that fails when CI has no server. */
export const MISSING_NATS = 'AZR_REQUIRE_NATS=1 but nats-server is missing: apt-get install -y nats-server';

function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    if (spawnSync(file, ['--version'], { stdio: 'ignore' }).status === 0) return file;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (the OS picks one; released before the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (kept across restart()). */
  readonly storeDir: string;
  /** The server's output so far (for a failing test's message). */
  log(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); the store stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and removes the store. */
  close(): Promise<void>;
}

/**
 * Starts `nats-server -js -a 127.0.0.1 -p PORT -sd STORE` and resolves once it accepts connections (at most 15 s,
 * checked every 50 ms). Throws when the binary is missing.
 */
export async function startNatsServer(): Promise<NatsServer> {
  if (NATS_SERVER_BIN === undefined) throw new Error(MISSING_NATS);
  const bin = NATS_SERVER_BIN;
  const port = await freePort();
  const storeDir = mkdtempSync(path.join(tmpdir(), 'azr-nats-'));
  let output = '';
  let child: ChildProcess | null = null;
  const launch = async () => {
    const c = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    c.once('exit', () => (exited = true));
    for (let i = 0; i < 300; i++) {
      if (exited) throw new Error(`nats-server exited at start:\n${output}`);
      if (await accepts(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    c.kill('SIGKILL');
    throw new Error(`nats-server did not accept connections on ${port} within 15 s:\n${output}`);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    log: () => output,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
