// Who may open a feed connection: the shared token, loopback host names without one (DNS rebinding), browser
// origins, and the azr.v1 subprotocol.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FEED_PROTOCOL } from './protocol.js';

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Why a websocket upgrade is refused: the HTTP status and a line of text for the client. */
interface Refusal {
  status: number;
  text: string;
}

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The feed's access rules for websocket upgrades, checked on every connection. */
export class FeedAccess {
  private readonly tokenHash: Buffer | null;

  /**
   * @param token shared secret clients must send (`Authorization: Bearer TOKEN` or `?token=TOKEN`); none when empty
   * @param host the interface the feed listens on (its own name is an allowed Host besides loopback names)
   * @param allowedOrigins browser origins allowed besides the page's own
   */
  constructor(
    token: string | undefined,
    private readonly host: string,
    private readonly allowedOrigins: readonly string[] | undefined,
  ) {
    this.tokenHash = token !== undefined && token !== '' ? tokenDigest(token) : null;
  }

  /** Null when the upgrade may go ahead; otherwise why it is refused. */
  refusal(req: IncomingMessage): Refusal | null {
    if (this.tokenHash !== null && !this.authorized(req))
      return { status: 401, text: 'a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)' };
    // Without a token, only loopback host names: a DNS-rebound name pointing at 127.0.0.1 must not reach the run.
    if (this.tokenHash === null && !this.hostAllowed(req.headers.host))
      return { status: 403, text: `host ${req.headers.host ?? '(none)'} is not allowed` };
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, req.headers.host))
      return { status: 403, text: `origin ${origin} is not allowed` };
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (!offered.includes(FEED_PROTOCOL))
      return {
        status: 400,
        text: `websocket subprotocol ${FEED_PROTOCOL} required (offered: ${offered.length > 0 ? offered.join(', ') : 'none'})`,
      };
    return null;
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    let given: string | null = null;
    if (header !== undefined && /^Bearer\s+/i.test(header)) given = header.replace(/^Bearer\s+/i, '').trim();
    else given = new URL(req.url ?? '/', 'http://feed').searchParams.get('token');
    return given !== null && timingSafeEqual(tokenDigest(given), this.tokenHash!);
  }

  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return true; // HTTP/1.0-style clients; browsers always send Host
    let name: string;
    try {
      name = new URL(`http://${host}`).hostname;
    } catch {
      return false;
    }
    return isLoopbackHost(name) || name.replace(/^\[|\]$/g, '') === this.host.replace(/^\[|\]$/g, '');
  }

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.allowedOrigins?.includes(origin)) return true;
    try {
      return host !== undefined && new URL(origin).host === host;
    } catch {
      return false;
    }
  }
}
