// PolicyEffect over the rollout engine: prompts of the six views, grammar-constrained (or free) sampling, completions as lexeme segments with their training trace.

import type { TraceScaffold } from '../azr/traceScaffold.js';
import type { GenerateInput, PolicyCompletion, PolicyEffect, PolicyRequest } from '../machines/effects.js';
import type { Completion, SampleRequest } from '../gpu/sampler.js';
import { answerConstraint, proposerPrompt, solverPrompt, tokenizer, type EncodedPrompt } from '../gpu/tokenizer.js';
import type { RunScenario } from '../config/schema.js';

/**
 * Lexeme budgets of each answer segment (a completion that runs out is cut: a format error): the scenario's
 * `policy.budgets` (src/config/schema.ts declares and documents them).
 */
export type AnswerBudgets = RunScenario['policy']['budgets'];

/** What the policy service needs from a rollout engine (`OrtRollout` fits; tests may pass a tfjs one). */
export interface RolloutEngine {
  readonly config: { readonly contextLength: number };
  sample(
    requests: readonly SampleRequest[],
    options: {
      rng: GenerateInput['rng'];
      temperature: number;
      maxNewTokens: number;
      recordMasks: boolean;
      endToken?: number;
    },
  ): Promise<{ version: number; completions: readonly Completion[] }>;
}

/** The scenario's `policy.decoding`: `constrained` (the task-language grammar, azr's default) or `free` (the paper's). */
export type Decoding = RunScenario['policy']['decoding'];

interface PolicyServiceOptions {
  readonly budgets: AnswerBudgets;
  /** Default `constrained`. */
  readonly decoding?: Decoding;
  /** Prompts decoded together; requests are grouped by prompt length into batches of at most this many. */
  readonly batchSize: number;
  /** Deduction traces follow their program, operands written so (src/azr/traceScaffold.ts); default `off`: free. */
  readonly traceScaffold?: TraceScaffold;
}

/** The budgets of a request's answer segments, in segment order. */
function segmentBudgets(request: PolicyRequest, b: AnswerBudgets): number[] {
  if (request.role === 'solve') return [b.trace[request.view.type], b[request.view.type]];
  return request.view.type === 'induction' ? [b.inductionInputs] : [b.program, b.args];
}

function encode(request: PolicyRequest, traceScaffold?: TraceScaffold): EncodedPrompt {
  return request.role === 'solve' ? solverPrompt(request.view, { traceScaffold }) : proposerPrompt(request.view);
}

/**
 * The policy: each request becomes its view's prompt and a `GrammarConstraint` for its answer segments (or, when
 * `decoding` is `free`, no constraint: it stops after one <end> per segment or at the sum of the segment budgets
 * plus one <end> each); the engine samples them (newest published weights, the call's rng, the training
 * temperature) and each completion comes back as lexeme segments stamped with the weight version. Completions that
 * will be trained on (`train`) keep their trace — prompt, tokens, log-probs and allowed-set masks (null when free:
 * every token was allowed) — for the learner's exact replay. A request whose prompt cannot be encoded or does not
 * fit the context fails alone (`ok: false`).
 */
export class PolicyService implements PolicyEffect {
  constructor(
    private readonly engine: RolloutEngine,
    private readonly options: PolicyServiceOptions,
  ) {}

  async generate(input: GenerateInput): Promise<PolicyCompletion[]> {
    const out: PolicyCompletion[] = new Array(input.requests.length);
    const ready: { at: number; prompt: number[]; request: SampleRequest }[] = [];
    const context = this.engine.config.contextLength;
    const free = this.options.decoding === 'free';
    input.requests.forEach((request, at) => {
      try {
        const prompt = encode(request, this.options.traceScaffold);
        const budgets = segmentBudgets(request, this.options.budgets);
        let sampleRequest: SampleRequest;
        if (free) {
          // one <end> per segment, as the constraint's maxTokens counts them
          const maxNewTokens = budgets.reduce((n, b) => n + b + 1, 0);
          sampleRequest = { prompt: prompt.tokens, maxNewTokens, endCount: prompt.answer.length };
        } else {
          const constraint = answerConstraint(prompt, budgets);
          sampleRequest = { prompt: prompt.tokens, constraint, maxNewTokens: constraint.maxTokens };
        }
        const answerTokens = sampleRequest.maxNewTokens as number;
        if (prompt.tokens.length + answerTokens > context)
          throw new Error(
            `a ${prompt.tokens.length}-token prompt and a ${answerTokens}-token answer do not fit the context of ${context}`,
          );
        ready.push({ at, prompt: prompt.tokens, request: sampleRequest });
      } catch (e) {
        out[at] = { id: request.id, ok: false, error: `prompt: ${(e as Error).message}` };
      }
    });
    // similar lengths together (less padding); stable, so the order — and the draws — depend only on the requests
    const order = ready.map((_, i) => i).sort((a, b) => ready[a]!.prompt.length - ready[b]!.prompt.length || a - b);
    const keepTrace = input.purpose === 'train';
    for (let start = 0, chunk = 0; start < order.length; start += this.options.batchSize, chunk++) {
      const group = order.slice(start, start + this.options.batchSize).map((i) => ready[i]!);
      const batch = await this.engine.sample(
        group.map((g) => g.request),
        {
          rng: input.rng.split(`batch${chunk}`),
          temperature: input.temperature,
          maxNewTokens: Math.max(...group.map((g) => g.request.maxNewTokens ?? 1)),
          recordMasks: keepTrace,
          ...(free ? { endToken: tokenizer.endId } : {}),
        },
      );
      group.forEach((g, k) => {
        const c = batch.completions[k]!;
        const id = input.requests[g.at]!.id;
        out[g.at] = {
          id,
          ok: true,
          segments: tokenizer.segments(c.tokens),
          tokens: c.tokens.length,
          policyVersion: batch.version,
          ...(c.stop === 'length' ? { truncated: true } : {}),
          ...(keepTrace ? { trace: { prompt: g.prompt, tokens: c.tokens, logProbs: c.logProbs, masks: c.masks } } : {}),
        };
      });
    }
    return out;
  }
}
