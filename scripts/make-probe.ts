// Writes scenarios/probe.jsonl: the held-out probe set, generated once from a fixed seed and labelled by Node.
// Run: node --import tsx scripts/make-probe.ts [--check]   (--check: fail if the committed file differs)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { generateProbe, probeBaselines, probeToJsonl, TIERS, type Execute } from '../src/azr/probe.js';
import { lex } from '../src/azr/lang/lex.js';
import { programParams, TASK_TYPES } from '../src/azr/tasks.js';
import { valuesFromLexemes } from '../src/azr/lang/value.js';

/** The probe's seed: changing it changes every task. */
export const PROBE_SEED = 'azr-probe-v1';
export const PROBE_PATH = fileURLToPath(new URL('../scenarios/probe.jsonl', import.meta.url));

/**
 * Runs `f(args)` with Node (until the sandbox of issue 1 labels the probe): each program is compiled once in a
 * shared `vm` context (its own function scope, 100 ms limit) and called with the arguments read by the task
 * language's lexer — fresh values per call, so a program that mutates its argument cannot leak into the next
 * call. Arguments outside the program's signature are evaluated in the context instead. Task-language programs
 * have no loops or recursion, so a call always ends.
 */
export function nodeExecute(): Execute {
  const context = vm.createContext(Object.create(null));
  const compiled = new Map<string, { f: (...args: unknown[]) => unknown } | { error: string }>();
  const describe = (e: unknown) =>
    e instanceof Object && 'name' in e && 'message' in e ? `${String(e.name)}: ${String(e.message)}` : String(e);
  return (program, args) => {
    let entry = compiled.get(program);
    if (!entry) {
      try {
        entry = {
          f: vm.runInContext(`(function () {\n${program}\nreturn f;\n})()`, context, { timeout: 100 }) as (
            ...a: unknown[]
          ) => unknown,
        };
      } catch (e) {
        entry = { error: describe(e) };
      }
      if (compiled.size > 5000) compiled.clear();
      compiled.set(program, entry);
    }
    if ('error' in entry) return { ok: false, error: entry.error };
    try {
      const params = programParams(program);
      const lexed = params ? lex(args, 'args', { params }) : undefined;
      const values = lexed?.ok
        ? valuesFromLexemes(lexed.lexemes).map((v) => (Array.isArray(v) ? [...v] : v))
        : (vm.runInContext(`[${args}]`, context, { timeout: 100 }) as unknown[]);
      return { ok: true, value: entry.f(...values) };
    } catch (e) {
      return { ok: false, error: describe(e) };
    }
  };
}

/** The probe file's text for the committed seed. */
export function probeText(): string {
  return probeToJsonl(generateProbe(nodeExecute(), { seed: PROBE_SEED }));
}

function main(argv: string[]): void {
  const text = probeText();
  if (argv.includes('--check')) {
    const same = readFileSync(PROBE_PATH, 'utf8') === text;
    process.stdout.write(same ? 'probe.jsonl is up to date\n' : 'probe.jsonl differs from its generator\n');
    process.exitCode = same ? 0 : 1;
    return;
  }
  writeFileSync(PROBE_PATH, text);
  const tasks = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { tier: string; task: { type: string } });
  process.stdout.write(`wrote ${tasks.length} tasks to ${PROBE_PATH}\n`);
  for (const type of TASK_TYPES)
    process.stdout.write(
      `  ${type.padEnd(10)} ${TIERS.map((t) => `${t} ${tasks.filter((x) => x.task.type === type && x.tier === t).length}`).join(', ')}\n`,
    );
  const b = probeBaselines(tasks as never, nodeExecute());
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  for (const type of TASK_TYPES)
    process.stdout.write(
      `  baseline ${type.padEnd(10)} input-copy ${pct(b.copy[type])}, constant ${pct(b.constant[type])}\n`,
    );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
