// A hint message for an induction task, made from the words of what its program does.

import { endsUnit } from './render.js';
import { MAX_MESSAGE_WORDS } from './lexemes.js';

const WORD_OF: Readonly<Record<string, string>> = {
  '.length': 'length',
  '.reverse()': 'reverse',
  '.sort((u, v) => u - v)': 'sort',
  '.sort()': 'sort',
  '.map(x =>': 'each',
  '.filter(x =>': 'keep',
  '.includes(': 'contains',
  '.some(x =>': 'any',
  '.every(x =>': 'all',
  '.reduce((p, x) =>': 'total',
  '.slice(': 'part',
  '.split(': 'split',
  '.join(': 'join',
  '.concat(': 'join',
  '.indexOf(': 'position',
  '.toUpperCase()': 'upper',
  '.toLowerCase()': 'lower',
  '.at(': 'item',
  '.replace(': 'replace',
  '.startsWith(': 'starts',
  '.endsWith(': 'ends',
  '+': 'add',
  '-': 'minus',
  '*': 'times',
  '%': 'remainder',
  '<': 'compare',
  '<=': 'compare',
  '>': 'compare',
  '>=': 'compare',
  '===': 'equal',
  '!==': 'equal',
  '!': 'not',
  '&&': 'both',
  '||': 'either',
  '?': 'when',
  'if (': 'when',
  'Math.max(': 'max',
  'Math.min(': 'min',
  'Math.abs(': 'absolute',
};

/**
 * A message for a program: the words (from MESSAGE_WORDS) of its operations, in order of first use, at most
 * MAX_MESSAGE_WORDS; `same` when it has none. Used for the probe's induction tasks; proposers write their own.
 */
export function messageFor(programLexemes: readonly string[]): string {
  const words: string[] = [];
  let prev: string | null = null;
  let inString = false;
  for (const l of programLexemes) {
    if (l === '"') inString = !inString;
    if (inString) continue;
    const w = l === '[' ? (prev !== null && endsUnit(prev) ? 'item' : undefined) : WORD_OF[l];
    if (w && !words.includes(w) && words.length < MAX_MESSAGE_WORDS) words.push(w);
    prev = l === '"' ? '""' : l;
  }
  return words.length > 0 ? words.join(' ') : 'same';
}
