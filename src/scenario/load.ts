// Loading a run scenario: YAML → `--set` overrides → zod, with errors that name the file, line:column and field path.

import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parse as parseYaml, parseDocument, stringify, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { RunScenarioSchema, type RunScenario } from './schema.js';

/** A scenario that cannot run; the message says where (file:line:col) and which field. Exit code 2. */
export class ScenarioLoadError extends Error {
  override readonly name = 'ScenarioLoadError';
  constructor(
    message: string,
    /** Field paths of the problems (`selfPlay.batch.solve`), for tests and tools. */
    readonly paths: readonly string[] = [],
  ) {
    super(message);
  }
}

/** One `--set a.b=value` override: the value is read as YAML (`3`, `true`, `null`, `[a, b]`, `'text'`). */
export interface Override {
  readonly path: readonly string[];
  readonly value: unknown;
  /** As given, for messages. */
  readonly source: string;
}

/** Parses `a.b.c=value`; throws ScenarioLoadError on a malformed one. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ScenarioLoadError(`--set ${text}: expected key.path=value`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) throw new ScenarioLoadError(`--set ${text}: '${key}' is not a dotted field path`);
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

const pathText = (path: readonly PropertyKey[]): string => (path.length === 0 ? '(top level)' : path.map(String).join('.'));

/** The YAML node at a zod issue's path (for unknown keys: the key itself), or null. */
function nodeAt(doc: Document, issue: z.core.$ZodIssue): Node | null {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  let node = doc.getIn(path, true) as Node | undefined;
  // a default filled in for a missing field has no node: point at the nearest ancestor that exists
  for (let n = path.length - 1; node === undefined && n >= 0; n--) node = doc.getIn(path.slice(0, n), true) as Node | undefined;
  if (issue.code === 'unrecognized_keys' && node !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && issue.keys.includes(String(p.key.value)));
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return node ?? null;
}

function issueLines(issues: readonly z.core.$ZodIssue[], where: (issue: z.core.$ZodIssue, path: string) => string): { lines: string[]; paths: string[] } {
  const lines: string[] = [];
  const paths: string[] = [];
  for (const issue of issues) {
    const path = pathText(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = issue.path.length === 0 ? key : `${path}.${key}`;
        paths.push(full);
        lines.push(`${where(issue, full)}${full}: unknown field`);
      }
      continue;
    }
    paths.push(path);
    lines.push(`${where(issue, path)}${path}: ${issue.message}`);
  }
  return { lines, paths };
}

/** Validates a scenario object (no file): every problem with its field path. */
export function parseRunScenario(raw: unknown, source = 'scenario', overrides: readonly Override[] = []): RunScenario {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ScenarioLoadError(`${source} must hold a mapping (name:, seed:, selfPlay:, …)`);
  const copy = structuredClone(raw) as Record<string, unknown>;
  for (const o of overrides) applyOverride(copy, o);
  const r = RunScenarioSchema.safeParse(copy);
  if (r.success) return r.data;
  const { lines, paths } = issueLines(r.error.issues, () => '');
  throw new ScenarioLoadError(`${source} is invalid:\n${lines.map((l) => `  ${l}`).join('\n')}`, paths);
}

/** Reads and validates a scenario file; errors carry file:line:col of the offending node. */
export async function loadRunScenario(file: string, overrides: readonly Override[] = []): Promise<RunScenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ScenarioLoadError(`cannot read scenario ${file}: ${(e as Error).message}`);
  }
  return parseRunScenarioText(text, file, overrides);
}

/** Validates scenario YAML text (`file` names it in messages). */
export function parseRunScenarioText(text: string, file: string, overrides: readonly Override[] = []): RunScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return `  ${file}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`;
    });
    throw new ScenarioLoadError(`${file} is not valid YAML:\n${lines.join('\n')}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ScenarioLoadError(`${file} must hold a mapping (name:, seed:, selfPlay:, …)`);
  const copy = structuredClone(raw) as Record<string, unknown>;
  for (const o of overrides) applyOverride(copy, o);
  const r = RunScenarioSchema.safeParse(copy);
  if (r.success) return r.data;
  const overridden = new Set(overrides.map((o) => o.path.join('.')));
  const { lines, paths } = issueLines(r.error.issues, (issue, path) => {
    if (overridden.has(path)) return '--set ';
    const node = nodeAt(doc, issue);
    if (node?.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return `${file}:${pos.line}:${pos.col}: `;
    }
    return `${file}: `;
  });
  throw new ScenarioLoadError(`${file} is invalid:\n${lines.map((l) => `  ${l}`).join('\n')}`, paths);
}

/** The resolved scenario as YAML (what a run writes to scenario.yaml; loading it gives the same scenario). */
export function scenarioYaml(s: RunScenario): string {
  return stringify(s, { lineWidth: 0 });
}
