// The task-level API used by the rest of azr, over the in-process pool (the contract: tests/sandbox/taskContract.ts).
import { afterAll, beforeAll } from 'vitest';
import type { SandboxPool } from '../../src/sandbox/pool.js';
import { testPool } from './helpers.js';
import { describeTaskContract } from './taskContract.js';

let pool: SandboxPool;
beforeAll(async () => {
  pool = testPool();
  await pool.ready();
});
afterAll(() => pool.close());

describeTaskContract(() => pool);
