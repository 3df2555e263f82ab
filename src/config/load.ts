// Loading a run scenario: YAML (with `extends:` chains) → `--set` overrides → zod, with errors that name the file, line:column and field path.
//
// Merge rules, in the order they apply (later wins):
//   1. the file named by `extends:` (itself loaded the same way, so chains work; a path is relative to the extending file),
//   2. the extending file: a mapping merges key by key into the extended one; any other value (a number, a list,
//      `null`, or a mapping where the base has a number) replaces it whole,
//   3. `--set a.b=value` overrides, in command-line order: each replaces one field.
// A cycle (a.yaml extends b.yaml extends a.yaml) is an error that shows the chain.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  isCollection,
  isMap,
  isScalar,
  LineCounter,
  parse as parseYaml,
  parseDocument,
  stringify,
  type Document,
  type Node,
} from 'yaml';
import type { z } from 'zod';
import { parsePretrainScenario, ScenarioError, type PretrainScenario } from './pretrainConfig.js';
import { RunScenarioSchema, type RunScenario } from './schema.js';

/** A scenario that cannot run; the message says where (file:line:col) and which field. Exit code 2. */
export class ScenarioLoadError extends Error {
  override readonly name: string = 'ScenarioLoadError';
  constructor(
    message: string,
    /** Field paths of the problems (`selfPlay.batch.solve`), for tests and tools. */
    readonly paths: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A scenario file that could not be read at all (missing, unreadable): callers name where it was referenced. */
export class ScenarioReadError extends ScenarioLoadError {
  override readonly name = 'ScenarioReadError';
}

/** One `--set a.b=value` override: the value is read as YAML (`3`, `true`, `null`, `[a, b]`, `'text'`). */
export interface Override {
  readonly path: readonly string[];
  readonly value: unknown;
  /** As given, for messages. */
  readonly source: string;
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `a.b.c=value`; throws ScenarioLoadError on a malformed one. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ScenarioLoadError(`--set ${text}: expected key.path=value`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => !FIELD.test(p)))
    throw new ScenarioLoadError(`--set ${text}: '${key}' is not a dotted field path`);
  let value: unknown;
  try {
    value = parseYaml(text.slice(eq + 1));
  } catch (e) {
    throw new ScenarioLoadError(`--set ${text}: the value is not YAML (${(e as Error).message.split('\n')[0]})`);
  }
  return { path, value: value === undefined ? null : value, source: text };
}

function applyOverride(raw: Record<string, unknown>, o: Override): void {
  let at: Record<string, unknown> = raw;
  for (const key of o.path.slice(0, -1)) {
    const next = at[key];
    if (next === undefined || next === null) at[key] = {};
    else if (typeof next !== 'object' || Array.isArray(next))
      throw new ScenarioLoadError(`--set ${o.source}: '${key}' is not a section`, [o.path.join('.')]);
    at = at[key] as Record<string, unknown>;
  }
  at[o.path[o.path.length - 1]!] = o.value;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** `over` merged into `base` (neither is changed): mappings merge key by key, anything else replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : structuredClone(value);
  }
  return out;
}

const pathText = (path: readonly PropertyKey[]): string =>
  path.length === 0 ? '(top level)' : path.map(String).join('.');

// -----------------------------------------------------------------------------------------------------------
// Where a field came from: layers of YAML, searched most specific first.

type YamlPath = readonly (string | number)[];

/** One YAML source of a resolved scenario: finds the node that set a scenario field path (undefined: not set here). */
interface SourceLayer {
  readonly file: string;
  readonly lineCounter: LineCounter;
  find(path: YamlPath): Node | undefined;
}

/** A parsed YAML file. */
interface YamlFile {
  readonly file: string;
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  /** The document as plain data ({} for an empty file). */
  readonly raw: unknown;
}

/** `file:line:col: ` of a node (or `file: ` when it has no position). */
export function positionOf(file: string, lineCounter: LineCounter, node: Node | undefined | null): string {
  if (!node?.range) return `${file}: `;
  const pos = lineCounter.linePos(node.range[0]);
  return `${file}:${pos.line}:${pos.col}: `;
}

/** Parses YAML text; syntax errors (and duplicate keys) throw ScenarioLoadError with their positions. */
function parseYamlFile(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return `  ${file}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`;
    });
    throw new ScenarioLoadError(`${file} is not valid YAML:\n${lines.join('\n')}`);
  }
  return { file, doc, lineCounter, raw: doc.toJS() ?? {} };
}

/** Reads and parses a YAML file. */
export function readYamlFile(file: string, what = 'scenario', name = file): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioReadError(`cannot read ${what} ${name}: ${(e as Error).message}`);
  }
  return parseYamlFile(text, name);
}

/** The layer of a whole document (scenario path = document path), optionally below `at` in it. */
export function documentLayer(y: YamlFile, at: YamlPath = []): SourceLayer {
  return {
    file: y.file,
    lineCounter: y.lineCounter,
    find: (p) => (y.doc.getIn([...at, ...p], true) as Node | undefined) ?? undefined,
  };
}

/**
 * The layer of a `set:` mapping inside a document: keys are dotted paths (`selfPlay.steps: 3`) or nested mappings;
 * a field path finds the value node that set it, or the key that set a section containing it.
 */
export function setMapLayer(y: YamlFile, at: YamlPath): SourceLayer {
  return {
    file: y.file,
    lineCounter: y.lineCounter,
    find: (p) => {
      const map = y.doc.getIn(at, true);
      if (!isMap(map)) return undefined;
      for (const pair of [...map.items].reverse()) {
        if (!isScalar(pair.key)) continue;
        const keyPath = String(pair.key.value).split('.');
        const common = Math.min(keyPath.length, p.length);
        if (keyPath.slice(0, common).some((k, i) => k !== String(p[i]))) continue;
        if (p.length <= keyPath.length)
          return p.length === keyPath.length ? ((pair.value as Node | null) ?? pair.key) : pair.key;
        const value = pair.value as Node | null;
        const below = isCollection(value)
          ? (value.getIn(p.slice(keyPath.length), true) as Node | undefined)
          : undefined;
        if (below) return below;
      }
      return undefined;
    },
  };
}

/** The nearest node of a zod issue's path (for unknown keys: the key itself) over the layers, most specific first. */
export function locateIssue(layers: readonly SourceLayer[], issue: z.core.$ZodIssue, key?: string): string {
  const p = issue.path.map((x) => (typeof x === 'number' ? x : String(x)));
  if (key !== undefined) {
    for (const l of layers) {
      const parent = l.find(p);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === key);
        if (pair && isScalar(pair.key)) return positionOf(l.file, l.lineCounter, pair.key);
      }
      const direct = l.find([...p, key]);
      if (direct) return positionOf(l.file, l.lineCounter, direct);
    }
  }
  // a default filled in for a missing field has no node: point at the nearest ancestor that exists
  for (let n = p.length; n >= 0; n--)
    for (const l of layers) {
      const node = l.find(p.slice(0, n));
      if (node) return positionOf(l.file, l.lineCounter, node);
    }
  return layers[0] ? `${layers[0].file}: ` : '';
}

// -----------------------------------------------------------------------------------------------------------
// "did you mean": the field names a strict object accepts at a path, and the closest one.

interface ZodLike {
  _zod: {
    def: { type: string; shape?: Record<string, ZodLike>; innerType?: ZodLike; in?: ZodLike; options?: ZodLike[] };
  };
}

function objectsAt(schema: ZodLike, p: readonly PropertyKey[]): ZodLike[] {
  const def = schema._zod.def;
  if (def.innerType) return objectsAt(def.innerType, p);
  if (def.type === 'pipe' && def.in) return objectsAt(def.in, p);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => objectsAt(o, p));
  if (def.type !== 'object' || !def.shape) return [];
  if (p.length === 0) return [schema];
  const next = def.shape[String(p[0])];
  return next ? objectsAt(next, p.slice(1)) : [];
}

/** The field names a (strict) object schema accepts at a path. */
function fieldNamesAt(schema: unknown, p: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema as ZodLike, p).flatMap((o) => Object.keys(o._zod.def.shape!)))];
}

/** Edit distance with adjacent transpositions (optimal string alignment): `nmae` is one edit from `name`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The closest known name, when it is close enough to be a typo (case-insensitive, ≤ 1/3 of the letters edited). */
function didYouMean(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(name.toLowerCase(), k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : null;
}

/** One message line per problem, each with its location; unknown keys get a "did you mean". */
export function issueMessages(
  schema: unknown,
  issues: readonly z.core.$ZodIssue[],
  where: (issue: z.core.$ZodIssue, path: string, key?: string) => string,
  prefix: readonly string[] = [],
): { lines: string[]; paths: string[] } {
  const lines: string[] = [];
  const paths: string[] = [];
  for (const issue of issues) {
    const path = pathText([...prefix, ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      const known = fieldNamesAt(schema, issue.path);
      for (const key of issue.keys) {
        const full = issue.path.length + prefix.length === 0 ? key : `${path}.${key}`;
        const hint = didYouMean(key, known);
        paths.push(full);
        lines.push(
          `${where(issue, full, key)}${full}: unknown field${hint !== null ? ` (did you mean '${hint}'?)` : ''}`,
        );
      }
      continue;
    }
    paths.push(path);
    lines.push(`${where(issue, path)}${path}: ${issue.message}`);
  }
  return { lines, paths };
}

// -----------------------------------------------------------------------------------------------------------
// Scenario files and `extends:` chains.

/** A scenario file with its `extends:` chain merged in (not validated yet), and where each field came from. */
export interface ScenarioSource {
  /** The merged mapping, without `extends`. */
  readonly raw: Record<string, unknown>;
  /** The files of the chain, the given one first. */
  readonly layers: readonly SourceLayer[];
}

function requireMapping(y: YamlFile): Record<string, unknown> {
  if (!isPlainObject(y.raw)) throw new ScenarioLoadError(`${y.file} must hold a mapping (name:, seed:, selfPlay:, …)`);
  return y.raw;
}

function resolveChain(y: YamlFile, chain: readonly string[]): ScenarioSource {
  const own = { ...requireMapping(y) };
  const ext = own.extends;
  delete own.extends;
  if (ext === undefined) return { raw: own, layers: [documentLayer(y)] };
  const at = positionOf(y.file, y.lineCounter, y.doc.get('extends', true) as Node | undefined);
  if (typeof ext !== 'string' || ext === '')
    throw new ScenarioLoadError(`${y.file} is invalid:\n  ${at}extends: expected the path of a scenario file`, [
      'extends',
    ]);
  const parentFile = path.resolve(path.dirname(y.file), ext);
  const shown = (f: string) => path.relative(process.cwd(), f) || f;
  if (chain.includes(parentFile))
    throw new ScenarioLoadError(
      `${y.file} is invalid:\n  ${at}extends: a cycle: ${[...chain, parentFile].map(shown).join(' → ')}`,
      ['extends'],
    );
  let parentYaml: YamlFile;
  try {
    parentYaml = readYamlFile(parentFile, 'scenario', shown(parentFile));
  } catch (e) {
    if (!(e instanceof ScenarioReadError)) throw e;
    throw new ScenarioLoadError(`${y.file} is invalid:\n  ${at}extends: ${e.message}`, ['extends']);
  }
  const parent = resolveChain(parentYaml, [...chain, parentFile]);
  return { raw: deepMerge(parent.raw, own), layers: [documentLayer(y), ...parent.layers] };
}

/** Parses scenario YAML text and merges its `extends:` chain (files read relative to `file`'s folder). */
function scenarioSourceOfText(text: string, file: string): ScenarioSource {
  return resolveChain(parseYamlFile(text, file), [path.resolve(file)]);
}

/** Reads a scenario file and merges its `extends:` chain. */
export function readScenarioSource(file: string): ScenarioSource {
  return resolveChain(readYamlFile(file), [path.resolve(file)]);
}

/**
 * Validates a merged scenario after applying `overrides` (last); a problem is located in the first layer that set
 * the field (or an override, blamed as `--set`).
 */
export function validateScenarioSource(
  src: ScenarioSource,
  overrides: readonly Override[] = [],
  title = src.layers[0]?.file ?? 'scenario',
): RunScenario {
  const copy = structuredClone(src.raw);
  for (const o of overrides) applyOverride(copy, o);
  const r = RunScenarioSchema.safeParse(copy);
  if (r.success) return r.data;
  const overridden = new Set(overrides.map((o) => o.path.join('.')));
  const { lines, paths } = issueMessages(RunScenarioSchema, r.error.issues, (issue, path, key) =>
    overridden.has(path) ? '--set ' : locateIssue(src.layers, issue, key),
  );
  throw new ScenarioLoadError(`${title} is invalid:\n${lines.map((l) => `  ${l}`).join('\n')}`, paths);
}

/** Validates a scenario object (no file): every problem with its field path. */
export function parseRunScenario(raw: unknown, source = 'scenario', overrides: readonly Override[] = []): RunScenario {
  if (raw === null || raw === undefined) raw = {};
  if (!isPlainObject(raw)) throw new ScenarioLoadError(`${source} must hold a mapping (name:, seed:, selfPlay:, …)`);
  return validateScenarioSource({ raw, layers: [] }, overrides, source);
}

/** Reads and validates a scenario file (and its `extends:` chain); errors carry file:line:col of the offending node. */
export async function loadRunScenario(file: string, overrides: readonly Override[] = []): Promise<RunScenario> {
  return validateScenarioSource(readScenarioSource(file), overrides, file);
}

/** Validates scenario YAML text (`file` names it in messages; `extends:` is read relative to it). */
export function parseRunScenarioText(text: string, file: string, overrides: readonly Override[] = []): RunScenario {
  return validateScenarioSource(scenarioSourceOfText(text, file), overrides, file);
}

/** The resolved scenario as YAML (what a run writes to scenario.yaml; loading it gives the same scenario). */
export function scenarioYaml(s: RunScenario): string {
  return stringify(s, { lineWidth: 0 });
}

/**
 * Reads a YAML (or JSON) scenario file with its `extends:` chain (as `azr run` reads it) and checks its
 * `seed`, `model` and `pretrain` sections.
 */
export async function loadPretrainScenario(
  file: string | null,
  overrides: readonly Override[] = [],
): Promise<PretrainScenario> {
  const title = file ?? 'the built-in defaults';
  let raw: Record<string, unknown> = {};
  try {
    if (file !== null) raw = structuredClone(readScenarioSource(file).raw);
    for (const o of overrides) {
      if (!PRETRAIN_SECTIONS.includes(o.path[0]!))
        throw new ScenarioLoadError(
          `--set ${o.source}: azr pretrain reads ${PRETRAIN_SECTIONS.join(', ')} (not ${o.path[0]})`,
        );
      applyOverride(raw, o);
    }
  } catch (e) {
    if (e instanceof ScenarioLoadError) throw new ScenarioError(e.message);
    throw e;
  }
  return parsePretrainScenario(raw, overrides.length > 0 ? `${title} with the command-line options` : title);
}

/** The top-level fields `azr pretrain` reads (a scenario's other sections belong to `azr run`). */
const PRETRAIN_SECTIONS: readonly string[] = ['seed', 'model', 'pretrain'];
