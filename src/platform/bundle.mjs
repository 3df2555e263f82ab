// Plain-JS bundles of TypeScript entry points, cached on disk: how `azr exec` and the sandbox workers start without
// the TypeScript loader. (Plain JS itself, because it runs before any loader is registered; types in bundle.d.mts.)
//
// Registering tsx costs about 0.3 s before the first line of azr runs, plus a module-hooks thread that resolves every
// import afterwards; on 2 cores that was half of `azr exec`'s start-up. So an entry and the repository modules it
// imports are bundled into one ES module with esbuild — the compiler tsx itself runs on, resolved through tsx, whose
// dependency it is. Packages stay external imports, rewritten to absolute file URLs (resolved from here, as the
// sources would resolve them), so the bundle can live in a cache directory (node_modules/.cache/azr); `import.meta.url` in each source is
// replaced by that source's own URL, so files found relative to a module (guest sources, the WASM, worker entries)
// are still found. A manifest records every input file with its size and mtime: a start checks them with a few
// stat calls and rebuilds when any changed. Any failure returns null and the caller falls back to tsx.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bump when the way bundles are built changes (it is part of the cache key). */
const FORMAT = 2;
const BUILTINS = new Set(builtinModules);
const META_URL = /\bimport\.meta\.url\b/g;
/**
 * Where bundles live: node_modules/.cache/azr of this checkout (the usual place for tool caches; never a shared
 * temp directory, where another user could plant a file that would then be imported).
 */
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/azr/', import.meta.url));

function unchanged(inputs) {
  return inputs.every(([path, size, mtimeMs]) => {
    const st = statSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.size === size && st.mtimeMs === mtimeMs;
  });
}

function writeAtomically(path, text) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * The URL of an up-to-date bundle of `entry` (a file: URL of a .ts/.js module), building it when needed; null when it
 * cannot be built (no esbuild, a build error, AZR_NO_BUNDLE=1). `onlyDynamic`: the dynamic imports of the entry file
 * itself that are bundled; the entry's other dynamic imports are left as they are (they must not run from the bundle).
 */
export async function cachedBundle(entry, { onlyDynamic } = {}) {
  if (process.env.AZR_NO_BUNDLE === '1') return null;
  try {
    return await locate(entry, onlyDynamic ?? null);
  } catch {
    return null;
  }
}

async function locate(entryUrl, onlyDynamic) {
  const entry = fileURLToPath(entryUrl);
  const key = createHash('sha1')
    .update(JSON.stringify([FORMAT, entry, onlyDynamic, process.version]))
    .digest('hex')
    .slice(0, 16);
  const manifestPath = join(CACHE_DIR, `${key}.json`);
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (unchanged(manifest.inputs) && statSync(manifest.bundle, { throwIfNoEntry: false }))
      return pathToFileURL(manifest.bundle);
  } catch {
    // no usable cache: build below
  }

  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve('tsx'))('esbuild');
  const external = new Set(); // files of the packages the bundle imports: part of the manifest
  const plugin = {
    name: 'azr-bundle',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        if (
          args.kind === 'dynamic-import' &&
          onlyDynamic &&
          args.importer === entry &&
          !onlyDynamic.includes(args.path)
        )
          return { path: args.path, external: true };
        const p = args.path;
        // Plain-JS modules of the repository (this one included) need no bundling: imported where they are.
        if (p.startsWith('.') && p.endsWith('.mjs'))
          return { path: pathToFileURL(resolve(args.resolveDir, p)).href, external: true };
        if (
          p.startsWith('.') ||
          p.startsWith('/') ||
          p.startsWith('node:') ||
          BUILTINS.has(p) ||
          BUILTINS.has(p.split('/')[0])
        )
          return undefined;
        const url = import.meta.resolve(p); // a package: resolved from the repository, as the sources resolve it
        if (!url.startsWith('file:')) return undefined;
        external.add(fileURLToPath(url));
        return { path: url, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8').replace(META_URL, JSON.stringify(pathToFileURL(args.path).href));
        return { contents: text, loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js' };
      });
    },
  };
  const root = dirname(entry);
  const out = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    plugins: [plugin],
    logLevel: 'silent',
  });
  const code = out.outputFiles?.[0]?.text;
  if (!code) return null;
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, `${key}-${createHash('sha1').update(code).digest('hex').slice(0, 16)}.mjs`);
  writeAtomically(file, code);
  const paths = Object.keys(out.metafile?.inputs ?? {}).map((p) => resolve(root, p));
  const inputs = [...new Set([...paths, ...external])].map((p) => {
    const st = statSync(p);
    return [p, st.size, st.mtimeMs];
  });
  writeAtomically(manifestPath, JSON.stringify({ bundle: file, inputs }));
  return pathToFileURL(file);
}
