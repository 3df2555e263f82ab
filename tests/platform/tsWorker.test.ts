import { describe, expect, it } from 'vitest';
import { startTsWorker } from '../../src/platform/tsWorker.js';

describe('startTsWorker', () => {
  it('runs a TypeScript worker entry', async () => {
    const w = startTsWorker(new URL('../fixtures/answerWorker.ts', import.meta.url));
    const got = await new Promise((res) => w.once('message', res));
    await w.terminate();
    expect(got).toBe(42);
  });
});
