#!/usr/bin/env node
// The `azr` command: runs main() of src/cli.ts. `azr exec` starts it from a cached plain-JS bundle of the modules it
// needs (src/sandbox/bundle.mjs), which saves registering the TypeScript loader (about 0.4 s of start-up); every other
// command, or exec when no bundle can be built, registers tsx next to this file and imports the TypeScript itself.
let main;
if (process.argv[2] === 'exec') {
  try {
    const { cachedBundle } = await import('../src/sandbox/bundle.mjs');
    const url = await cachedBundle(new URL('../src/cli.ts', import.meta.url), { onlyDynamic: ['./sandbox/execCommand.js'] });
    if (url) ({ main } = await import(url.href));
  } catch {
    main = undefined; // no usable bundle: start through tsx below
  }
}
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli.ts'));
}
process.exitCode = await main(process.argv);
