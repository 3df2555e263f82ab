// Worker bootstrap (plain JS): registers tsx in this thread, then imports the TypeScript entry it was given.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);
