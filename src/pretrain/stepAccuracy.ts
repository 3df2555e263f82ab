// Step accuracy: how often a model, teacher-forced on gold trace steps, writes each step's value — per operation and
// per place (a read step, the first step, a later one, the answer after the trace) — and each step's left side. The
// probe says whether an answer is right; this says which single operations a base has learned (docs/reasoning.md).
//
// Examples are the pretraining stream's own (held out by seed): `drillSteps` (every operand a value),
// `solveDeduction` with every answer traced, and `copyReads` (read steps alone: copying a value from the prompt).
// Predictions are the argmax at each position (the next token's guess).

import { PARAM_TYPES } from '../azr/lang/grammar.js';
import { TRACE_ARROW } from '../azr/lang/lexemes.js';
import { TRACE_STEP_END } from '../azr/trace.js';
import { TAGS, tokenizer } from '../gpu/tokenizer.js';
import type { PretrainExample } from './pretrainData.js';

/** Right and total counts of one group of values. */
export interface Tally {
  right: number;
  total: number;
}

export interface StepAccuracy {
  /**
   * By the step's operation: its operator or method lexeme (`+`, `%`, `.length`, `[`, `Math.min(` …), or `read` /
   * `read (several tokens)` for a read step of a one-token / a longer value.
   */
  readonly byOperation: Record<string, Tally>;
  /**
   * By place: `drill step`; in deduction examples `read step` (a parameter's value, with reads), `first step` (the
   * step that opens the trace, when it is not a read), `later step`, `answer after trace`.
   */
  readonly byPlace: Record<string, Tally>;
  /**
   * In deduction examples: each step's left side and its `⇒` (which operation comes next, on which operands),
   * right when every token of it is (but the first after `<answer>`, which is the choice to reason at all), by the
   * step's place (`read step`, `first step`, `later step`). A value can only be right in a free-running trace after
   * its left side is.
   */
  readonly leftSides: Record<string, Tally>;
}

const INTEGER = /^-?\d+$/;

/** The task language's parameter names (a step names one only to read it, or as a method's receiver). */
const PARAMS: ReadonlySet<string> = new Set(Object.keys(PARAM_TYPES));

/**
 * The operation a step's left side performs: its first lexeme that is not a value's (nor a bracket or comma of one),
 * or `read` for a read step.
 */
function operationOf(lhs: readonly string[]): string {
  if (lhs.length === 1 && PARAMS.has(lhs[0]!)) return 'read';
  let depth = 0;
  let quoted = false;
  for (const l of lhs) {
    if (l === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (l === '[' && depth === 0 && lhs[0] !== '[') return '[';
    else if (l === '[') depth++;
    else if (l === ']') depth--;
    else if (
      depth === 0 &&
      l !== ',' &&
      l !== '[]' &&
      l !== '""' &&
      !INTEGER.test(l) &&
      l !== 'true' &&
      l !== 'false'
    ) {
      if (PARAMS.has(l)) continue; // a parameter's name
      return l;
    }
  }
  return '?';
}

function count(t: Record<string, Tally>, key: string, right: boolean): void {
  const x = (t[key] ??= { right: 0, total: 0 });
  x.total++;
  if (right) x.right++;
}

/**
 * Tallies every gold value of trace steps (the tokens between `⇒` and `;`) and, in a solver example, the answer
 * after a non-empty trace: right when the prediction at each of its tokens' positions is that token.
 * `predictions[i][t]` is the token predicted after position t of example i.
 */
export function stepAccuracy(
  examples: readonly PretrainExample[],
  predictions: readonly (readonly number[])[],
): StepAccuracy {
  const arrow = tokenizer.id(TRACE_ARROW);
  const stepEnd = tokenizer.id(TRACE_STEP_END);
  const answer = tokenizer.id(TAGS.segment.answer);
  const out: StepAccuracy = { byOperation: {}, byPlace: {}, leftSides: {} };
  examples.forEach((e, i) => {
    const guess = predictions[i]!;
    const rightFrom = (from: number, to: number) => {
      for (let t = from; t < to; t++) if (guess[t - 1] !== e.tokens[t]) return false;
      return true;
    };
    // answer segments: after each <answer>, up to its first <end> (the trace), then the answer up to the next <end>
    for (let a = e.tokens.indexOf(answer); a !== -1; a = e.tokens.indexOf(answer, a + 1)) {
      const traceEnd = e.tokens.indexOf(tokenizer.endId, a);
      if (traceEnd === -1) continue;
      let start = a + 1;
      for (let t = a + 1; t < traceEnd; t++) {
        if (e.tokens[t] !== arrow) continue;
        const end = e.tokens.indexOf(stepEnd, t);
        const right = rightFrom(t + 1, end);
        const operation = operationOf(tokenizer.decode(e.tokens.slice(start, t)));
        // a read of a string or an array is a copy of several tokens, which this model does worst
        count(out.byOperation, operation === 'read' && end - t > 2 ? 'read (several tokens)' : operation, right);
        const place = operation === 'read' ? 'read step' : start === a + 1 ? 'first step' : 'later step';
        count(out.byPlace, e.format === 'drillSteps' ? 'drill step' : place, right);
        // (the token right after <answer> is the choice to reason at all, not part of the step: not counted)
        if (e.format === 'solveDeduction') count(out.leftSides, place, rightFrom(Math.max(start, a + 2), t + 1));
        start = end + 1;
      }
      if (e.format === 'solveDeduction' && traceEnd > a + 1) {
        const answerEnd = e.tokens.indexOf(tokenizer.endId, traceEnd + 1);
        if (answerEnd !== -1) count(out.byPlace, 'answer after trace', rightFrom(traceEnd + 1, answerEnd));
      }
    }
  });
  return out;
}

/** `+ 32% (87), - 43% (90), …`: groups by count, most first. */
export function formatTallies(t: Readonly<Record<string, Tally>>): string {
  return Object.entries(t)
    .sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
    .map(([k, x]) => `${k} ${((100 * x.right) / x.total).toFixed(0)}% (${x.total})`)
    .join(', ');
}
