// The `azr` command for the run tests' subprocesses: src/cli/index.ts's `main`, as bin/azr.js runs it.
import { main } from '../../src/cli/index.js';

process.exitCode = await main(process.argv);
