import { describe, expect, it } from 'vitest';
import { pollUntil, waitUntil } from './waitUntil.js';

describe('waitUntil and pollUntil (the tests’ polling helper)', () => {
  it('resolves with the first value that is not false, null or undefined', async () => {
    let calls = 0;
    const got = await waitUntil(() => (++calls < 3 ? null : `after ${calls}`), { what: 'a value', intervalMs: 1 });
    expect(got).toBe('after 3');
    expect(await waitUntil(() => 0, { what: 'zero' })).toBe(0);
    expect(await waitUntil(async () => true, { what: 'an async check' })).toBe(true);
  });

  it('fails after timeoutMs, naming what it waited for and the detail', async () => {
    await expect(
      waitUntil(() => false, { what: 'the door to open', timeoutMs: 30, intervalMs: 5, detail: () => 'it is shut' }),
    ).rejects.toThrow('timed out after 30 ms waiting for the door to open; it is shut');
  });

  it('ends the wait with the error of a check that throws', async () => {
    await expect(
      waitUntil(
        () => {
          throw new Error('closed 1001');
        },
        { what: 'anything' },
      ),
    ).rejects.toThrow('closed 1001');
  });

  it('pollUntil gives up quietly: undefined after timeoutMs', async () => {
    expect(await pollUntil(() => false, { timeoutMs: 20, intervalMs: 5 })).toBeUndefined();
  });
});
