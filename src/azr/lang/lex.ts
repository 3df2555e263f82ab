// Reads task-language source (a program, value, argument list or induction proposal) into lexemes.

import { isComplete, nextTerminals, start, step, type SegmentContext, type SegmentKind } from './automaton.js';
import { compiledGrammar } from './compileGrammar.js';
import { tokenize, type Token } from './tokenize.js';

/** Lexemes, or where and why the source is not in the task language. */
type LexResult =
  | { readonly ok: true; readonly lexemes: string[] }
  | { readonly ok: false; readonly error: string; readonly at: number };

let terminalTokens: (readonly Pick<Token, 'kind' | 'text'>[])[] | undefined;

/** The token run each terminal stands for. */
function tokensOfTerminals(): (readonly Pick<Token, 'kind' | 'text'>[])[] {
  if (terminalTokens) return terminalTokens;
  terminalTokens = compiledGrammar().terminals.map((t) => {
    if (t.role === 'char') return [{ kind: 'char', text: t.lexeme }];
    if (t.lexeme === '"') return [{ kind: 'quote', text: '"' }];
    const r = tokenize(t.lexeme);
    if (!r.ok) throw new Error(`lexeme ${t.lexeme} does not tokenize: ${r.error}`);
    return r.tokens.map(({ kind, text }) => ({ kind, text }));
  });
  return terminalTokens;
}

/**
 * Lexes `source` as a segment of `kind`, guided by the grammar: at each point, of the lexemes allowed there,
 * the one that matches the most tokens. Whitespace and quote style are free (`'ab'` reads as `"ab"`); anything
 * outside the language, or an incomplete segment, is an error with its offset.
 */
export function lex(source: string, kind: SegmentKind, context?: SegmentContext): LexResult {
  const tk = tokenize(source);
  if (!tk.ok) return tk;
  const tokens = tk.tokens;
  const g = compiledGrammar();
  const runs = tokensOfTerminals();
  let state = start(kind, context);
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    let best = -1;
    let bestLen = 0;
    for (const t of nextTerminals(state)) {
      const run = runs[t]!;
      if (run.length < bestLen || i + run.length > tokens.length) continue;
      let match = true;
      for (let k = 0; k < run.length; k++) {
        const a = tokens[i + k]!;
        if (a.kind !== run[k]!.kind || a.text !== run[k]!.text) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      if (run.length === bestLen && best >= 0 && g.terminals[best]!.lexeme !== g.terminals[t]!.lexeme)
        throw new Error(`ambiguous lexemes ${g.terminals[best]!.lexeme} / ${g.terminals[t]!.lexeme}`);
      best = t;
      bestLen = run.length;
    }
    const at = tokens[i]!.at;
    if (best < 0) return { ok: false, error: `unexpected ${JSON.stringify(tokens[i]!.text)} in a ${kind}`, at };
    const lexeme = g.terminals[best]!.lexeme;
    state = step(state, lexeme)!.state;
    out.push(lexeme);
    i += bestLen;
  }
  if (!isComplete(state)) return { ok: false, error: `incomplete ${kind}`, at: source.length };
  return { ok: true, lexemes: out };
}
