#!/usr/bin/env node
// The `azr` command: registers the TypeScript loader (tsx) next to this file, then runs src/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
