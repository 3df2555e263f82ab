// Writes docs/feed-protocol.schema.json from the zod schemas: `npx tsx src/feed/writeProtocolSchema.ts` (a test checks it is current).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { protocolJsonSchemaText } from './protocol.js';

/** Path of the published schema, from the repository root. */
const PROTOCOL_SCHEMA_PATH = 'docs/feed-protocol.schema.json';

/** Writes the published schema under `root`; returns the file written. */
export function writeProtocolSchema(root = fileURLToPath(new URL('../../', import.meta.url))): string {
  const path = `${root.replace(/\/$/, '')}/${PROTOCOL_SCHEMA_PATH}`;
  mkdirSync(`${root.replace(/\/$/, '')}/docs`, { recursive: true });
  writeFileSync(path, protocolJsonSchemaText());
  return path;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`wrote ${writeProtocolSchema()}\n`);
}
