// Writes lexemes of the task language as canonical JavaScript source (the inverse of lex).

import { accepts, TaskLanguageError, type SegmentContext, type SegmentKind } from './automaton.js';
import { END, VARIABLE_NAMES } from './lexemes.js';

/** Lexemes after which an expression's unit has ended, so a following `[` indexes it rather than opening an array. */
export function endsUnit(prev: string): boolean {
  if (VARIABLE_NAMES.includes(prev) || prev === ')' || prev === ']' || prev === '""' || prev === '[]') return true;
  return prev.startsWith('.') && !prev.endsWith('(') && !prev.endsWith('=>');
}

/**
 * Joins lexemes with the canonical spacing: `s.slice(1, 2)`, `xs.map(x => x * 2)`, `"ab"`, `[1, 2]`,
 * `f(a) { return a; }`. Does not check the lexemes; see {@link render}.
 */
export function joinLexemes(lexemes: readonly string[]): string {
  let out = '';
  let prev: string | null = null;
  let inString = false;
  for (const l of lexemes) {
    if (l === END) break;
    if (inString) {
      out += l;
      if (l === '"') {
        inString = false;
        prev = '""';
      }
      continue;
    }
    let space = prev !== null;
    if (prev !== null && (prev.endsWith('(') || prev === '[' || prev === '!')) space = false;
    if (l === ')' || l === ']' || l === ',' || l === ';' || l.startsWith('.')) space = false;
    if (l === '[' && prev !== null && endsUnit(prev)) space = false;
    out += (space ? ' ' : '') + l;
    if (l === '"') inString = true;
    prev = l;
  }
  return out;
}

/**
 * Canonical source of a complete segment: JavaScript for a program, a value or an argument list; for an
 * induction proposal, the argument lists separated by `; ` and then `// words`. Throws
 * {@link TaskLanguageError} if the lexemes are not a complete segment of `kind` (a trailing end marker is fine).
 */
export function render(lexemes: readonly string[], kind: SegmentKind, context?: SegmentContext): string {
  const body = lexemes[lexemes.length - 1] === END ? lexemes.slice(0, -1) : lexemes;
  if (!accepts(kind, body, context)) throw new TaskLanguageError(`not a complete ${kind}: ${body.join(' ')}`);
  return joinLexemes(body);
}
