// The static check: acorn parses programs, inputs and expressions; banned capabilities are refused with a reason.
//
// The check is a front door, not the wall: the sandbox stays safe with it skipped (`--no-validate`), because the
// guest has no host functions, no Date, no Math.random and no Proxy at all. What the check adds is a precise,
// early error for programs that could only fail or be nondeterministic, and a guarantee that an input is exactly
// an argument list (no injection), which is applied even when the banned list is skipped.

import { parse, parseExpressionAt, type Node } from 'acorn';
import { parseWholeExpression } from './canonical.js';
import type { BannedRule, SandboxError } from './types.js';

export { DEFAULT_BANNED } from './defaultBanned.js';

export type CheckResult = { ok: true } | { ok: false; error: SandboxError };

const OK: CheckResult = { ok: true };

interface CompiledBans {
  /** Matches any source that could contain a banned use (without escapes); others need no AST walk. */
  quick: RegExp;
  identifiers: Map<string, BannedRule>;
  members: Map<string, BannedRule>; // "Math.random"
  forms: Map<string, BannedRule>; // "import()", "async", "generator", "constructor()"
}

const SYNTAX_FORMS = new Set(['import()', 'async', 'generator', 'constructor()']);
const compiledCache = new WeakMap<readonly BannedRule[], CompiledBans>();

function compile(banned: readonly BannedRule[]): CompiledBans {
  let c = compiledCache.get(banned);
  if (c) return c;
  c = { quick: /$^/, identifiers: new Map(), members: new Map(), forms: new Map() };
  const words: string[] = [];
  const FORM_WORDS: Record<string, string[]> = {
    'import()': ['import'],
    async: ['async', 'await'],
    generator: ['*', 'yield'],
    'constructor()': ['constructor'],
  };
  for (const rule of banned) {
    if (SYNTAX_FORMS.has(rule.name)) {
      c.forms.set(rule.name, rule);
      words.push(...FORM_WORDS[rule.name]!);
    } else if (rule.name.includes('.')) {
      c.members.set(rule.name, rule);
      words.push(rule.name.slice(rule.name.lastIndexOf('.') + 1));
    } else {
      c.identifiers.set(rule.name, rule);
      words.push(rule.name);
    }
  }
  if (words.length > 0) c.quick = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
  compiledCache.set(banned, c);
  return c;
}

const ACORN = { ecmaVersion: 'latest', sourceType: 'script' } as const;

type AnyNode = Node & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function lineCol(text: string, offset: number): string {
  let line = 1;
  let col = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 0;
    } else col++;
  }
  return `${line}:${col + 1}`;
}

/** Finds the first banned use in an AST, or undefined. */
function findBanned(root: AnyNode, bans: CompiledBans): { rule: BannedRule; at: number } | undefined {
  const hasAny = bans.identifiers.size + bans.members.size + bans.forms.size > 0;
  if (!hasAny) return undefined;
  // Iterative walk: deep ASTs must not overflow the host stack.
  const stack: Array<{ node: AnyNode; parent: AnyNode | null; key: string }> = [{ node: root, parent: null, key: '' }];
  while (stack.length > 0) {
    const { node, parent, key } = stack.pop()!;
    const hit = visit(node, parent, key, bans);
    if (hit) return hit;
    for (const k of Object.keys(node)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc') continue;
      const child = node[k] as unknown;
      if (Array.isArray(child)) {
        for (let i = child.length - 1; i >= 0; i--) {
          const c = child[i] as AnyNode | null;
          if (c && typeof c.type === 'string') stack.push({ node: c, parent: node, key: k });
        }
      } else if (child && typeof (child as AnyNode).type === 'string')
        stack.push({ node: child as AnyNode, parent: node, key: k });
    }
  }
  return undefined;
}

function visit(
  node: AnyNode,
  parent: AnyNode | null,
  key: string,
  bans: CompiledBans,
): { rule: BannedRule; at: number } | undefined {
  switch (node.type) {
    case 'Identifier': {
      const rule = bans.identifiers.get(node.name as string);
      if (rule && isReference(parent, key)) return { rule, at: node.start };
      return undefined;
    }
    case 'MemberExpression': {
      if (bans.members.size === 0 || node.object.type !== 'Identifier') return undefined;
      const prop = !node.computed
        ? (node.property.name as string)
        : typeof node.property.value === 'string'
          ? (node.property.value as string)
          : undefined;
      if (prop === undefined) return undefined;
      const rule = bans.members.get(`${node.object.name as string}.${prop}`);
      return rule ? { rule, at: node.start } : undefined;
    }
    case 'ImportExpression':
    case 'MetaProperty': {
      const rule = bans.forms.get('import()');
      return rule && (node.type === 'ImportExpression' || node.meta?.name === 'import')
        ? { rule, at: node.start }
        : undefined;
    }
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression': {
      const a = node.async ? bans.forms.get('async') : undefined;
      if (a) return { rule: a, at: node.start };
      const g = node.generator ? bans.forms.get('generator') : undefined;
      return g ? { rule: g, at: node.start } : undefined;
    }
    case 'AwaitExpression': {
      const a = bans.forms.get('async');
      return a ? { rule: a, at: node.start } : undefined;
    }
    case 'ForOfStatement': {
      const a = node.await ? bans.forms.get('async') : undefined;
      return a ? { rule: a, at: node.start } : undefined;
    }
    case 'YieldExpression': {
      const g = bans.forms.get('generator');
      return g ? { rule: g, at: node.start } : undefined;
    }
    case 'CallExpression':
    case 'NewExpression': {
      const rule = bans.forms.get('constructor()');
      const c = node.callee as AnyNode;
      if (
        rule &&
        c.type === 'MemberExpression' &&
        ((!c.computed && c.property.name === 'constructor') || (c.computed && c.property.value === 'constructor'))
      )
        return { rule, at: node.start };
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Is an Identifier in this position a variable (not a property name or a label)? */
function isReference(parent: AnyNode | null, key: string): boolean {
  if (!parent) return true;
  switch (parent.type) {
    case 'MemberExpression':
      return key !== 'property' || parent.computed === true;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return key !== 'key' || parent.computed === true;
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return key !== 'label';
    case 'MetaProperty':
      return false;
    default:
      return true;
  }
}

function bannedError(text: string, hit: { rule: BannedRule; at: number }, where: string): CheckResult {
  return {
    ok: false,
    error: { kind: 'banned', message: `${hit.rule.name} at ${where}${lineCol(text, hit.at)}: ${hit.rule.reason}` },
  };
}

function parseError(e: unknown): string {
  if (e instanceof RangeError) return 'nested too deeply to parse';
  return (e as Error).message;
}

function isJsonList(input: string): boolean {
  try {
    JSON.parse(`[${input}]`);
    return true;
  } catch {
    return false;
  }
}

const PROGRAM_CACHE_SIZE = 512;
const NO_BANS: readonly BannedRule[] = Object.freeze([]);
const programCaches = new WeakMap<readonly BannedRule[], Map<string, CheckResult>>();

/**
 * A program: must parse as a script (kind `syntax`) and use nothing banned (kind `banned`). The last results are
 * cached per banned list: AZR checks the same program against many inputs and answers.
 */
export function checkProgram(source: string, banned: readonly BannedRule[] | null): CheckResult {
  const list = banned ?? NO_BANS;
  let cache = programCaches.get(list);
  if (!cache) programCaches.set(list, (cache = new Map()));
  const hit = cache.get(source);
  if (hit) return hit;
  const result = checkProgramUncached(source, banned);
  if (cache.size >= PROGRAM_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(source, result);
  return result;
}

/** A program: must parse as a script (kind `syntax`) and use nothing banned (kind `banned`). */
function checkProgramUncached(source: string, banned: readonly BannedRule[] | null): CheckResult {
  let ast: AnyNode;
  try {
    ast = parse(source, ACORN) as AnyNode;
  } catch (e) {
    return { ok: false, error: { kind: 'syntax', message: parseError(e) } };
  }
  if (banned === null) return OK;
  // Fast path: a source without any banned word (and no escape that could spell one) needs no walk.
  if (!mayUseBanned(source, banned)) return OK;
  const hit = findBanned(ast, compile(banned));
  return hit ? bannedError(source, hit, 'program ') : OK;
}

/**
 * Could the source use anything banned? False when it contains no banned word (identifier, member name or syntax
 * keyword) and no backslash (an escape could spell one): then no parse can find a banned use in it.
 */
export function mayUseBanned(source: string, banned: readonly BannedRule[]): boolean {
  if (banned.length === 0) return false;
  return source.includes('\\') || compile(banned).quick.test(source);
}

/**
 * An input: `f(<input>)` must parse as exactly one call of `f` spanning the whole text, so the input is exactly
 * an argument list (kind `bad_input` otherwise); with a banned list, its arguments use nothing banned.
 */
export function checkArguments(input: string, banned: readonly BannedRule[] | null): CheckResult {
  if (isJsonList(input)) return OK; // JSON values are literals: a list of them is an argument list, nothing banned
  const text = `f(${input})`;
  let node: AnyNode;
  try {
    node = parseExpressionAt(text, 0, ACORN) as AnyNode;
  } catch (e) {
    return { ok: false, error: { kind: 'bad_input', message: `input is not an argument list: ${parseError(e)}` } };
  }
  if (
    node.type !== 'CallExpression' ||
    node.callee.type !== 'Identifier' ||
    node.callee.start !== 0 ||
    node.callee.end !== 1 ||
    node.end !== text.length ||
    node.optional
  ) {
    return {
      ok: false,
      error: { kind: 'bad_input', message: 'input is not exactly an argument list (it must not close the call)' },
    };
  }
  if (banned === null) return OK;
  const bans = compile(banned);
  for (const arg of node.arguments as AnyNode[]) {
    const hit = findBanned(arg, bans);
    if (hit) return bannedError(text, { rule: hit.rule, at: hit.at }, 'input ');
  }
  return OK;
}

/**
 * One expression spanning the whole text (an `expected` value or a deduction answer). `node`: the text already
 * parsed by parseWholeExpression (as parseValueOrExpression gives it), so that it is not parsed again.
 */
export function checkExpression(
  text: string,
  banned: readonly BannedRule[] | null,
  label = 'expression',
  node: Node | string = parseWholeExpression(text),
): CheckResult {
  if (typeof node === 'string') return { ok: false, error: { kind: 'bad_input', message: `${label}: ${node}` } };
  if (banned === null) return OK;
  const hit = findBanned(node as AnyNode, compile(banned));
  return hit ? bannedError(text, { rule: hit.rule, at: hit.at - 1 }, `${label} `) : OK;
}
