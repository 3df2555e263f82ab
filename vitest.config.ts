import { configDefaults, defineConfig } from 'vitest/config';

/**
 * `unit`: quick feedback (`npm run test:unit`, under a minute on two cores): tests of pure code and of in-process
 * actors, streams and the feed server — no child processes, no sandbox pools, no tensors, no browser, no runs.
 * Listed here on purpose: a new test file lands in `slow` until it is added.
 */
const UNIT = [
  'tests/azr/**/*.test.ts',
  'tests/streams/**/*.test.ts',
  'tests/machines/**/*.test.ts',
  'tests/support/**/*.test.ts',
  'tests/architecture.test.ts',
  'tests/scenario/{extends,load,schema}.test.ts',
  'tests/feed/{protocol,sendQueue,feedServer,feedCommands,replay,watch}.test.ts',
  'tests/sandbox/staticCheck.test.ts',
  'tests/gpu/layout.test.ts',
  'tests/run/runProgress.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // `vitest run` (npm test) runs both projects: every test file exactly once. (Each project sets its own include:
    // a project that extends the root concatenates arrays, so the root sets none.)
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      // the rest: the CLI through bin/azr.js, browsers, sandbox pools, the model and learner, real runs
      {
        extends: true,
        test: { name: 'slow', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, ...UNIT] },
      },
    ],
  },
});
