#!/usr/bin/env node
// `npm run bench -- NAME [args]`: runs bench/NAME.ts (each prints medians, ratios and one closing JSON line).
import { readdirSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const dir = new URL('../bench/', import.meta.url);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || !names.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [args]\n  NAME: ${names.join(' | ') || '(none yet)'}\n`);
  process.exit(name && name !== '--help' ? 2 : 0);
}
const mod = await import(new URL(`${name}.ts`, dir).href);
await mod.main(rest);
