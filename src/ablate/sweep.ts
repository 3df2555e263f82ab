// An ablation sweep file (zod) and its resolution: a base scenario + named variants (overrides or their own scenario file) × seeds.
//
//   name: paper                      # the sweep (default: the file name)
//   base: ../default.yaml            # relative to the sweep file; may itself `extends:`
//   set: { selfPlay.steps: 12 }      # overrides every variant gets
//   seeds: 2                         # seeds 1..N, or a list [3, 7]
//   variants:
//     - name: full
//     - name: no-induction
//       set: { selfPlay.taskTypes: [deduction, abduction] }
//     - name: other
//       scenario: other.yaml         # instead of base
//
// Each variant resolves as: its scenario file (or base) → the sweep's `set` → its own `set` → command-line `--set`;
// `set` keys are dotted field paths or nested mappings, merged like `extends:`. The run is named after the variant.

import * as path from 'node:path';
import { z } from 'zod';
import {
  deepMerge,
  documentLayer,
  issueMessages,
  locateIssue,
  positionOf,
  readScenarioSource,
  readYamlFile,
  ScenarioLoadError,
  ScenarioReadError,
  setMapLayer,
  validateScenarioSource,
  type Override,
  type ScenarioSource,
} from '../config/load.js';
import type { RunScenario } from '../config/schema.js';

const NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name is letters, digits, dot, dash and underscore');
const SET = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a key is a dotted field path (selfPlay.steps)'),
    z.unknown(),
  )
  .default({})
  .describe(
    'scenario overrides: dotted field paths (selfPlay.taskTypes: [deduction]) or nested mappings, merged like extends',
  );

export const SweepVariantSchema = z
  .strictObject({
    name: NAME.describe('variant name: names its runs (runs/<sweep>/<name>/seed-<s>/) and its row in the report'),
    description: z.string().optional().describe('one line for the report: what the variant removes or changes'),
    scenario: z
      .string()
      .min(1)
      .optional()
      .describe('a scenario file to start from instead of the sweep’s base (relative to the sweep file)'),
    set: SET,
  })
  .describe('one arm of the ablation');

export const SweepSchema = z
  .strictObject({
    name: NAME.optional().describe(
      'sweep name (default: the file name without .yaml); the default output is runs/ablate-<name>',
    ),
    description: z.string().optional().describe('what the sweep asks, shown at the top of the report'),
    base: z.string().min(1).describe('the scenario every variant starts from, relative to the sweep file'),
    set: SET.describe('overrides every variant gets, before its own'),
    seeds: z
      .union([z.number().int().min(1).max(1000), z.array(z.number().int().min(0).max(0xffffffff)).min(1)])
      .default(3)
      .describe('seeds per variant: N means seeds 1..N, or an explicit list; --seeds N overrides'),
    variants: z.array(SweepVariantSchema).min(1).describe('the arms, in report order'),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.variants.forEach((v, i) => {
      if (seen.has(v.name))
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `variant '${v.name}' is named twice` });
      seen.add(v.name);
    });
    if (Array.isArray(s.seeds) && new Set(s.seeds).size !== s.seeds.length)
      ctx.addIssue({ code: 'custom', path: ['seeds'], message: 'a seed is listed twice' });
  });

/** A variant ready to run: its resolved scenario (seed as in the file; each run sets its own). */
export interface ResolvedVariant {
  readonly name: string;
  readonly description?: string;
  readonly scenario: RunScenario;
}

export interface ResolvedSweep {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly seeds: readonly number[];
  readonly variants: readonly ResolvedVariant[];
}

/** `{ 'a.b': 1, c: { d: 2 } }` → `{ a: { b: 1 }, c: { d: 2 } }` (dotted keys expanded, merged in order). */
export function expandSetMap(set: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(set)) {
    const patch = key
      .split('.')
      .reverse()
      .reduce<unknown>((v, k) => ({ [k]: v }), value) as Record<string, unknown>;
    out = deepMerge(out, patch);
  }
  return out;
}

/** Reads, validates and resolves a sweep file; every problem is a ScenarioLoadError with file:line:col. */
export function loadSweep(
  file: string,
  options: { seeds?: number; overrides?: readonly Override[] } = {},
): ResolvedSweep {
  const y = readYamlFile(file, 'sweep file');
  const r = SweepSchema.safeParse(y.raw);
  if (!r.success) {
    const { lines, paths } = issueMessages(SweepSchema, r.error.issues, (issue, _path, key) =>
      locateIssue([documentLayer(y)], issue, key),
    );
    throw new ScenarioLoadError(`${file} is not a valid sweep:\n${lines.map((l) => `  ${l}`).join('\n')}`, paths);
  }
  const sweep = r.data;
  const dir = path.dirname(file);
  const shown = (f: string) => path.relative(process.cwd(), f) || f;
  const baseAt = (rel: string, at: (string | number)[]): ScenarioSource => {
    try {
      return readScenarioSource(shown(path.resolve(dir, rel)));
    } catch (e) {
      if (e instanceof ScenarioReadError)
        throw new ScenarioLoadError(
          `${file} is not a valid sweep:\n  ${positionOf(y.file, y.lineCounter, documentLayer(y).find(at))}${at.join('.')}: ${e.message}`,
          [at.join('.')],
        );
      throw e;
    }
  };
  const base = baseAt(sweep.base, ['base']);
  const common = expandSetMap(sweep.set);
  const variants = sweep.variants.map((v, i): ResolvedVariant => {
    const from = v.scenario !== undefined ? baseAt(v.scenario, ['variants', i, 'scenario']) : base;
    const raw = deepMerge(deepMerge(from.raw, common), expandSetMap(v.set));
    const layers = [setMapLayer(y, ['variants', i, 'set']), setMapLayer(y, ['set']), ...from.layers];
    const overrides = [...(options.overrides ?? []), { path: ['name'], value: v.name, source: `name=${v.name}` }];
    const scenario = validateScenarioSource({ raw, layers }, overrides, `${file} (variant '${v.name}')`);
    return { name: v.name, ...(v.description !== undefined ? { description: v.description } : {}), scenario };
  });
  const seeds =
    options.seeds !== undefined
      ? range(options.seeds)
      : typeof sweep.seeds === 'number'
        ? range(sweep.seeds)
        : sweep.seeds;
  return {
    file,
    name: sweep.name ?? path.basename(file).replace(/\.ya?ml$/, ''),
    ...(sweep.description !== undefined ? { description: sweep.description } : {}),
    seeds,
    variants,
  };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** JSON Schema of a sweep file. */
export function sweepJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SweepSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
