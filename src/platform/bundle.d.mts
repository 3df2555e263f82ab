// Types of bundle.mjs (plain JS, because bin/azr.js runs it before any TypeScript loader is registered).

/**
 * The URL of an up-to-date bundle of `entry` (a file: URL of a .ts/.js module), building it when needed; null when it
 * cannot be built. `onlyDynamic`: the entry file's own dynamic imports that are bundled (the others are left as they are).
 */
export function cachedBundle(entry: URL, options?: { onlyDynamic?: readonly string[] }): Promise<URL | null>;
