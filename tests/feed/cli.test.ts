// `azr replay` and `azr watch` through the real command (`node bin/azr.js …`), as a user runs them after a run.
import { afterEach, describe, expect, it } from 'vitest';
import { createSyntheticRun } from '../support/syntheticRun.js';
import { azr } from '../azrProcess.js';
import { waitUntil } from '../support/waitUntil.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterEach(() => removeTempDirs());

describe('azr replay and azr watch (bin/azr.js)', () => {
  it('replay serves a finished run; watch follows it to the end and prints one line per step', async () => {
    // Arrange: a finished 3-step run directory
    const dir = tempDir();
    await createSyntheticRun({ dir, runId: 'cli-replay', steps: 3 }).run();
    const replay = azr(['replay', dir, '--port', '0']);
    const wsUrl = await waitUntil(() => /feed\s+(ws:\/\/\S+)/.exec(replay.out.stderr)?.[1] ?? null, {
      what: 'the feed address',
      timeoutMs: 30_000,
      detail: () => `stderr: ${replay.out.stderr}`,
    });

    // Act: watch (stdout is a pipe: plain lines), then stop the replay with Ctrl-C
    const watch = azr(['watch', wsUrl]);
    const watchCode = await watch.exit;
    replay.child.kill('SIGINT');
    const replayCode = await replay.exit;

    // Assert
    expect(watchCode).toBe(0);
    expect(watch.out.stdout).toContain('run cli-replay finished: completed after 3 steps');
    expect(watch.out.stdout.split('\n').filter((l) => /^step [123]\b/.test(l))).toHaveLength(3);
    expect(replayCode).toBe(0);
    expect(replay.out.stderr).toContain('azr replay: stopped after');
  });

  it('exits 1 when there is nothing to replay or watch, and 2 on a usage error', async () => {
    const missing = azr(['replay', tempDir()]);
    const unreachable = azr(['watch', 'ws://127.0.0.1:9/']);
    const usage = azr(['replay']);
    expect(await missing.exit).toBe(1);
    expect(await unreachable.exit).toBe(1);
    expect(await usage.exit).toBe(2);
    expect(usage.out.stderr).toContain("missing required argument 'run-dir'");
  });
});
