// The connection to a NATS server (JetStream on): one place that turns "nothing listens there" into a clear error.

import { connect, type NatsConnection } from '@nats-io/transport-node';

/** No server answered at the URL (or it refused us): the command says so and exits without writing anything. */
export class NatsUnreachableError extends Error {
  override readonly name = 'NatsUnreachableError';
}

export interface NatsConnectOptions {
  /** The client's name (shown by the server's monitoring). */
  readonly name: string;
  /** How long the first connection may take, ms (default 5000). */
  readonly timeoutMs?: number;
}

/**
 * Connects to `url` (`nats://host:port`, several comma-separated), reconnecting for ever once connected (a server
 * restarted on the same store is picked up again; requests in between fail and are retried by their callers).
 */
export async function connectNats(url: string, o: NatsConnectOptions): Promise<NatsConnection> {
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw new NatsUnreachableError('no NATS server URL given');
  try {
    return await connect({
      servers,
      name: o.name,
      timeout: o.timeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (e) {
    throw new NatsUnreachableError(
      `cannot reach a NATS server at ${servers.join(', ')} (${(e as Error).message}); start one with \`nats-server -js\``,
    );
  }
}
