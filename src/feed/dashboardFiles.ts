// The dashboard's static files: the page and its script from src/feed/dashboard, uPlot from node_modules, no build step.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { protocolJsonSchemaText } from './protocol.js';

const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));
/** zod's ES modules, so the page validates messages with zod against the published JSON Schema (no bundler). */
const ZOD_DIR = dirname(createRequire(import.meta.url).resolve('zod/package.json'));
const ZOD_PREFIX = '/vendor/zod/';

interface Route {
  type: string;
  load: () => Promise<string | Buffer>;
}

const ROUTES: Record<string, Route> = {
  '/': { type: 'text/html; charset=utf-8', load: () => readFile(join(DASHBOARD_DIR, 'index.html')) },
  '/dashboard.js': {
    type: 'text/javascript; charset=utf-8',
    load: () => readFile(join(DASHBOARD_DIR, 'dashboard.js')),
  },
  '/dashboard.css': { type: 'text/css; charset=utf-8', load: () => readFile(join(DASHBOARD_DIR, 'dashboard.css')) },
  '/vendor/uPlot.esm.js': {
    type: 'text/javascript; charset=utf-8',
    load: () => readFile(join(UPLOT_DIR, 'uPlot.esm.js')),
  },
  '/vendor/uPlot.min.css': { type: 'text/css; charset=utf-8', load: () => readFile(join(UPLOT_DIR, 'uPlot.min.css')) },
  '/protocol.schema.json': {
    type: 'application/schema+json; charset=utf-8',
    load: async () => protocolJsonSchemaText(),
  },
};
ROUTES['/index.html'] = ROUTES['/']!;

/** A module file of the zod package (`/vendor/zod/v4/…/*.js`); nothing outside that directory. */
function zodRoute(path: string): Route | undefined {
  if (!path.startsWith(ZOD_PREFIX) || !/^[\w\-./]+\.js$/.test(path) || path.includes('..')) return undefined;
  const file = normalize(join(ZOD_DIR, path.slice(ZOD_PREFIX.length)));
  if (!file.startsWith(ZOD_DIR + sep)) return undefined;
  return { type: 'text/javascript; charset=utf-8', load: () => readFile(file) };
}

/** Paths the server answers with a file (for tests and the README); plus zod's modules under /vendor/zod/. */
export const DASHBOARD_PATHS: readonly string[] = Object.keys(ROUTES);

const HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

/** Answers a GET/HEAD for a dashboard file; 404 for anything else, 405 for other methods. */
export async function serveDashboardFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://feed').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const route = ROUTES[path] ?? zodRoute(path);
  if (route === undefined) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS });
    res.end(`not found: ${path}\n`);
    return;
  }
  // Read on every request (they are small): an edited dashboard shows on reload.
  let loaded: string | Buffer;
  try {
    loaded = await route.load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS });
    res.end(`not found: ${path}\n`);
    return;
  }
  const body = typeof loaded === 'string' ? Buffer.from(loaded) : loaded;
  res.writeHead(200, { 'Content-Type': route.type, 'Content-Length': body.length, ...HEADERS });
  res.end(req.method === 'HEAD' ? undefined : body);
}
