// The JavaScript that runs inside QuickJS: the trusted harness and the hardening script (plain .js files here).
import { readFileSync } from 'node:fs';

export interface GuestSources {
  /** harness.guest.js: evaluated in the private context of each runtime. */
  harness: string;
  /** harden.guest.js: evaluated once in each shared guest context (hardened isolation). */
  harden: string;
}

let cached: GuestSources | undefined;

/** Reads the guest sources next to this module (once). Workers receive them as data, so they never read files. */
export function guestSources(): GuestSources {
  cached ??= {
    harness: readFileSync(new URL('./harness.guest.js', import.meta.url), 'utf8'),
    harden: readFileSync(new URL('./harden.guest.js', import.meta.url), 'utf8'),
  };
  return cached;
}
