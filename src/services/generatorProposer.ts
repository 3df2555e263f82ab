// A proposer that is not the model: tasks drawn from the task-language generator, for the control arms that ask whether
// the learned curriculum earns its keep (`policy.proposer: generator`). Solver requests still go to the model.

import {
  argsLexemes,
  argsSource,
  generateArgs,
  generateProgram,
  INPUT_SEPARATOR,
  lex,
  MESSAGE_START,
  messageFor,
  type Rng,
} from '../azr/index.js';
import type { GenerateInput, PolicyCompletion, PolicyEffect, PolicyRequest } from '../machines/effects.js';
import type { ProbeExclusion } from '../pretrain/pretrainData.js';

interface GeneratorProposerOptions {
  /** Probe programs never proposed (the same rule as pretraining's). */
  readonly exclusion: ProbeExclusion;
  /** The weight version completions are stamped with (the model's newest; a generator task is never trained on). */
  readonly version: () => number;
}

/** The lexemes of a deduction/abduction proposal (program, then one argument list) or an induction one (N inputs + message). */
function proposalSegments(
  request: Extract<PolicyRequest, { role: 'propose' }>,
  rng: Rng,
  exclusion: ProbeExclusion,
): string[][] {
  const view = request.view;
  if (view.type === 'induction') {
    const programLexemes = lex(view.program, 'program');
    if (!programLexemes.ok) throw new Error(`the induction program does not lex: ${view.program}`);
    const inputs: string[][] = [];
    const seen = new Set<string>();
    for (let tries = 0; inputs.length < view.inputs && tries < 20 * view.inputs; tries++) {
      const values = generateArgs(rng, view.params);
      const source = argsSource(values);
      if (seen.has(source)) continue;
      seen.add(source);
      inputs.push(argsLexemes(values));
    }
    const segment = inputs.flatMap((x, i) => (i > 0 ? [INPUT_SEPARATOR, ...x] : x));
    return [[...segment, MESSAGE_START, ...messageFor(programLexemes.lexemes).split(' ')]];
  }
  for (;;) {
    const program = generateProgram(rng);
    if (exclusion.excludes(program.source)) continue;
    return [[...program.lexemes], argsLexemes(generateArgs(rng, program.params))];
  }
}

/**
 * Proposals from the generator (each request's draws from `input.rng.split(id)`, so they do not depend on batching),
 * solver answers from `model`. Proposals carry no training trace: the proposer is not trained (the scenario checks
 * `selfPlay.trainProposer: false`).
 */
export class GeneratorProposer implements PolicyEffect {
  constructor(
    private readonly model: PolicyEffect,
    private readonly options: GeneratorProposerOptions,
  ) {}

  async generate(input: GenerateInput): Promise<PolicyCompletion[]> {
    const solve = input.requests.filter((r) => r.role === 'solve');
    const answers = solve.length > 0 ? await this.model.generate({ ...input, requests: solve }) : [];
    const byId = new Map(answers.map((a) => [a.id, a]));
    return input.requests.map((r): PolicyCompletion => {
      if (r.role === 'solve') return byId.get(r.id)!;
      try {
        const segments = proposalSegments(r, input.rng.split(`generator/${r.id}`), this.options.exclusion);
        // a segment's lexemes and its <end>
        return {
          id: r.id,
          ok: true,
          segments,
          tokens: segments.reduce((n, s) => n + s.length + 1, 0),
          policyVersion: this.options.version(),
        };
      } catch (e) {
        return { id: r.id, ok: false, error: `generator: ${(e as Error).message}` };
      }
    });
  }
}
