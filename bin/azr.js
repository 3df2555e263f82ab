#!/usr/bin/env node
// The `azr` command: runs main() of src/cli/index.ts. `azr exec` starts it from a cached plain-JS bundle of the modules it
// needs (src/platform/bundle.mjs), which saves registering the TypeScript loader (about 0.4 s of start-up); every other
// command, or exec when no bundle can be built, registers tsx next to this file and imports the TypeScript itself.
let main;
if (process.argv[2] === 'exec') {
  try {
    const { cachedBundle } = await import('../src/platform/bundle.mjs');
    const url = await cachedBundle(new URL('../src/cli/index.ts', import.meta.url), { onlyDynamic: ['./commands/exec.js'] });
    if (url) ({ main } = await import(url.href));
  } catch {
    main = undefined; // no usable bundle: start through tsx below
  }
}
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/index.ts'));
}
process.exitCode = await main(process.argv);
