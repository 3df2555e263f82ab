// Splits task-language source into JavaScript-like tokens, string literals opened into characters.

/**
 * A token: identifier, number, punctuator, string quote, string character, or the empty string literal.
 * A string literal `"ab"` (or `'ab'`) becomes quote, `a`, `b`, quote; `""` becomes one `empty` token.
 */
export interface Token {
  readonly kind: 'ident' | 'number' | 'punct' | 'quote' | 'char' | 'empty';
  readonly text: string;
  /** Offset in the source. */
  readonly at: number;
}

const PUNCTUATORS = [
  '===',
  '!==',
  '=>',
  '<=',
  '>=',
  '&&',
  '||',
  '//',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  ';',
  '.',
  '+',
  '-',
  '*',
  '%',
  '<',
  '>',
  '!',
  '?',
  ':',
  '=',
];

/** Tokens of `source`, or the offset and reason of the first character that starts none. */
export function tokenize(source: string): { ok: true; tokens: Token[] } | { ok: false; error: string; at: number } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const close = source.indexOf(c, i + 1);
      if (close < 0) return { ok: false, error: 'unterminated string literal', at: i };
      const body = source.slice(i + 1, close);
      if (body.includes('\\') || body.includes('\n'))
        return { ok: false, error: 'escapes are not part of the language', at: i };
      if (body.length === 0) tokens.push({ kind: 'empty', text: '""', at: i });
      else {
        tokens.push({ kind: 'quote', text: '"', at: i });
        for (let k = 0; k < body.length; k++) tokens.push({ kind: 'char', text: body[k]!, at: i + 1 + k });
        tokens.push({ kind: 'quote', text: '"', at: close });
      }
      i = close + 1;
      continue;
    }
    if (c >= '0' && c <= '9') {
      let j = i + 1;
      while (j < source.length && source[j]! >= '0' && source[j]! <= '9') j++;
      tokens.push({ kind: 'number', text: source.slice(i, j), at: i });
      i = j;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < source.length && /[\w$]/.test(source[j]!)) j++;
      tokens.push({ kind: 'ident', text: source.slice(i, j), at: i });
      i = j;
      continue;
    }
    const p = PUNCTUATORS.find((q) => source.startsWith(q, i));
    if (!p) return { ok: false, error: `unexpected character ${JSON.stringify(c)}`, at: i };
    tokens.push({ kind: 'punct', text: p, at: i });
    i += p.length;
  }
  return { ok: true, tokens };
}
