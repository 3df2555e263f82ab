// The policy service's decoding option: 'free' (the paper's free generation, an ablation) next to 'constrained'.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityTriplet, IDENTITY_PROGRAM, Rng, type ProposerView, type SolverView } from '../../src/azr/index.js';
import { PolicyService, type AnswerBudgets, type RolloutEngine } from '../../src/services/policyService.js';
import { initBackend } from '../../src/gpu/backend.js';
import { Learner, scoreCompletions } from '../../src/gpu/learner.js';
import { Gpt, type GptConfig } from '../../src/gpu/model.js';
import { sample, type Completion, type SampleRequest } from '../../src/gpu/sampler.js';
import { TAGS, tokenizer } from '../../src/gpu/tokenizer.js';
import { TRACE_ARROW } from '../../src/azr/lang/lexemes.js';
import { valueFromLexemes } from '../../src/azr/lang/value.js';
import { nextTraceStep } from '../../src/azr/trace.js';
import type { PolicyRequest } from '../../src/machines/effects.js';
import { parseProposal } from '../../src/machines/proposerMachine.js';
import { parseAnswer } from '../../src/machines/solverMachine.js';
import { fakeLearner, testCoordinator, toLexemes, type FakeLearner } from '../../src/testing.js';

const budgets: AnswerBudgets = {
  program: 16,
  args: 8,
  inductionInputs: 24,
  deduction: 10,
  abduction: 10,
  induction: 16,
  trace: { deduction: 12, abduction: 0, induction: 0 },
};
const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 128, layers: 1, width: 32, heads: 2 };
let model: Gpt;

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  model = Gpt.init(config, new Rng(41));
});
afterAll(() => model.dispose());

/** The tfjs sampler as a rollout engine, recording what it was asked. */
function tfjsEngine() {
  const seen: { requests: readonly SampleRequest[]; endToken: number | undefined }[] = [];
  const engine: RolloutEngine = {
    config: { contextLength: config.contextLength },
    async sample(requests, options) {
      seen.push({ requests, endToken: options.endToken });
      return { version: 0, completions: await sample(model, requests, options) };
    },
  };
  return { engine, seen };
}

const triplet = identityTriplet();
const views: { propose: ProposerView[]; solve: SolverView[] } = {
  propose: [
    { type: 'deduction', references: [] },
    { type: 'abduction', references: [triplet] },
    { type: 'induction', program: IDENTITY_PROGRAM, params: ['a'], inputs: 4 },
  ],
  solve: [
    { type: 'deduction', program: triplet.program, input: triplet.input },
    { type: 'abduction', program: triplet.program, output: triplet.output },
    { type: 'induction', params: ['a'], shown: [{ input: '1', output: 1 }], message: 'same input' },
  ],
};

function requests(copies: number): PolicyRequest[] {
  const out: PolicyRequest[] = [];
  for (let c = 0; c < copies; c++) {
    views.propose.forEach((view, i) => out.push({ id: `p${i}/${c}`, role: 'propose', view }));
    views.solve.forEach((view, i) => out.push({ id: `s${i}/${c}`, role: 'solve', view }));
  }
  return out;
}

const ends = (tokens: readonly number[]) => tokens.filter((t) => t === tokenizer.endId).length;

describe('PolicyService decoding', () => {
  it("'free' samples over the whole vocabulary, stops after one <end> per segment, and returns a trace the learner accepts", async () => {
    const { engine, seen } = tfjsEngine();
    const policy = new PolicyService(engine, { budgets, batchSize: 64, decoding: 'free' });
    const reqs = requests(6);
    const out = await policy.generate({ requests: reqs, temperature: 1, purpose: 'train', rng: new Rng(5), step: 1 });

    // the engine got unconstrained requests: one end per answer segment, the budgets plus those ends as the cap
    expect(seen.every((s) => s.endToken === tokenizer.endId)).toBe(true);
    const sent = seen.flatMap((s) => s.requests);
    expect(sent.every((r) => r.constraint === undefined)).toBe(true);
    expect(new Set(sent.map((r) => `${r.endCount}:${r.maxNewTokens}`))).toEqual(
      // proposals: program + args (2:26), induction inputs (1:25); solvers: trace + answer (deduction 2:24, abduction 2:12, induction 2:18)
      new Set(['2:26', '1:25', '2:24', '2:12', '2:18']),
    );

    let outsideGrammar = 0;
    const samples: {
      prompt: readonly number[];
      tokens: readonly number[];
      logProbs: readonly number[];
      masks: null;
    }[] = [];
    out.forEach((c, i) => {
      const request = reqs[i]!;
      if (!c.ok) throw new Error(c.error);
      const trace = c.trace!;
      expect(trace.masks).toBeNull(); // every token allowed: the learner replays the unmasked softmax
      expect(trace.tokens).toHaveLength(c.tokens);
      const segmentsWanted = request.role === 'solve' || request.view.type !== 'induction' ? 2 : 1;
      if (c.truncated) expect(ends(trace.tokens)).toBeLessThan(segmentsWanted);
      else {
        expect(ends(trace.tokens)).toBe(segmentsWanted);
        expect(trace.tokens.at(-1)).toBe(tokenizer.endId);
      }
      outsideGrammar += trace.tokens.filter((t) => t < tokenizer.lexemeOffset).length; // tags and <pad>
      // whatever came out, the machines read it as an answer or a format error — never a throw
      const parsed = request.role === 'propose' ? parseProposal(request.view, c) : parseAnswer(request.view, c);
      if (!parsed.ok) expect(parsed.error).toBe('format');
      samples.push({ prompt: trace.prompt, tokens: trace.tokens, logProbs: trace.logProbs!, masks: null });
    });
    expect(outsideGrammar).toBeGreaterThan(0);

    // the learner's replay gives the sampler's log-probs, and takes a policy step on the traces
    const scored = scoreCompletions(model, samples);
    samples.forEach((s, i) => s.logProbs.forEach((lp, t) => expect(Math.abs(lp - scored[i]![t]!)).toBeLessThan(1e-4)));
    const learner = new Learner(model, { lr: 1e-3, ppoClip: 0.2 });
    const m = learner.policyStep(samples.map((s, i) => ({ ...s, advantage: i % 2 === 0 ? 1 : -1 })));
    expect(Number.isFinite(m.loss)).toBe(true);
    expect(m.step).toBe(1);
    learner.dispose();
  });

  it("'constrained' (the default) keeps the grammar: well-formed answers and recorded masks", async () => {
    const { engine, seen } = tfjsEngine();
    const policy = new PolicyService(engine, { budgets, batchSize: 64 });
    const reqs = requests(2);
    const out = await policy.generate({ requests: reqs, temperature: 1, purpose: 'train', rng: new Rng(6), step: 1 });
    expect(seen.every((s) => s.endToken === undefined)).toBe(true);
    expect(seen.flatMap((s) => s.requests).every((r) => r.constraint !== undefined && r.endCount === undefined)).toBe(
      true,
    );
    out.forEach((c, i) => {
      if (!c.ok) throw new Error(c.error);
      expect(c.trace!.masks).not.toBeNull();
      const request = reqs[i]!;
      expect((request.role === 'propose' ? parseProposal(request.view, c) : parseAnswer(request.view, c)).ok).toBe(
        true,
      );
    });
  });
});

describe('PolicyService traceScaffold', () => {
  /** A trace's steps: left side and value lexemes (the segment is `lhs ⇒ value ;` repeated). */
  function steps(trace: readonly string[]): { lhs: string[]; value: string[] }[] {
    const out: { lhs: string[]; value: string[] }[] = [];
    let lhs: string[] = [];
    let value: string[] | undefined;
    for (const l of trace) {
      if (l === TRACE_ARROW) value = [];
      else if (l === ';' && value !== undefined) {
        out.push({ lhs, value });
        [lhs, value] = [[], undefined];
      } else if (value !== undefined) value.push(l);
      else lhs.push(l);
    }
    expect(lhs).toEqual([]); // the trace ended between steps
    return out;
  }
  const view = { type: 'deduction', program: 'function f(n) { return n * 2 + 3 - n; }', input: '4' } as const;
  const solve = (n: number): PolicyRequest[] =>
    Array.from({ length: n }, (_, i) => ({ id: `d${i}`, role: 'solve', view }));
  /** How many traces were written, and how many of their steps were not the program's next operation. */
  async function offProgram(traceScaffold?: 'names') {
    const { engine } = tfjsEngine();
    const policy = new PolicyService(engine, { budgets, batchSize: 64, ...(traceScaffold ? { traceScaffold } : {}) });
    const out = await policy.generate({
      requests: solve(48),
      temperature: 1,
      purpose: 'train',
      rng: new Rng(8),
      step: 1,
    });
    let traces = 0;
    let off = 0;
    for (const c of out) {
      if (!c.ok) throw new Error(c.error);
      expect(parseAnswer(view, c).ok).toBe(true);
      const written = steps(c.segments[0]!);
      if (written.length > 0) traces++;
      written.forEach((st, k) => {
        const values = written.slice(0, k).map((w) => valueFromLexemes(w.value));
        const next = nextTraceStep(view.program, view.input, values);
        if (next.kind !== 'step' || next.lhs.join(' ') !== st.lhs.join(' ')) off++;
      });
    }
    return { traces, off, out };
  }

  it("'names' writes each step's left side from the program and the values the trace wrote: the solver writes only values", async () => {
    const { traces, off, out } = await offProgram('names');
    expect(traces).toBeGreaterThan(5);
    expect(off).toBe(0);
    // inside a left side one token was allowed (after its first lexeme); the learner replays those masks
    const V = tokenizer.vocabSize;
    let forced = 0;
    for (const c of out) {
      if (!c.ok) continue;
      const masks = c.trace!.masks!;
      for (let t = 0; t < c.trace!.tokens.length; t++)
        if (masks.subarray(t * V, (t + 1) * V).reduce((n, m) => n + m, 0) === 1) forced++;
    }
    expect(forced).toBeGreaterThan(traces);
  });

  it('without it, the free trace grammar lets a random model write steps the program does not take', async () => {
    const { traces, off } = await offProgram();
    expect(traces).toBeGreaterThan(5);
    expect(off).toBeGreaterThan(0);
  });
});

// -----------------------------------------------------------------------------------------------------------
// A scripted engine: malformed free completions through the real service and machines

const lexemeIds = (source: string, kind: Parameters<typeof toLexemes>[1], context?: Parameters<typeof toLexemes>[2]) =>
  tokenizer.encode(toLexemes(source, kind, context));
const E = tokenizer.endId;
const tag = (t: string) => tokenizer.id(t);

/**
 * Answers every request from a rotating script of well-formed and malformed completions (tags in the middle, an
 * answer cut at its length budget, empty segments, <pad>). Records which token sequences were malformed.
 */
function scriptedFreeEngine(learner: FakeLearner) {
  const malformed = new Set<string>();
  let turn = 0;
  const engine: RolloutEngine = {
    config: { contextLength: 4096 },
    async sample(requests, options) {
      expect(options.endToken).toBe(E);
      const completions = requests.map((r): Completion => {
        const role = tokenizer.decode([r.prompt[0]!])[0];
        const type = tokenizer.decode([r.prompt[1]!])[0];
        const k = turn++;
        const n = k % 7;
        let tokens: number[];
        let bad = true;
        let stop: Completion['stop'] = 'end';
        if (role === TAGS.role.propose && type !== TAGS.type.induction) {
          const program = lexemeIds(`function f(n) { return n + ${1 + (k % 5)}; }`, 'program');
          const args = lexemeIds(String(k % 9), 'args', { params: ['n'] });
          if (n <= 2) [tokens, bad] = [[...program, E, ...args, E], false];
          else if (n === 3)
            tokens = [...program.slice(0, 3), tag(TAGS.segment.answer), ...program.slice(3), E, ...args, E];
          else if (n === 4) [tokens, stop] = [program.slice(0, 5), 'length'];
          else if (n === 5) tokens = [E, E];
          else tokens = [...program, E, tokenizer.padId, ...args, E];
        } else if (role === TAGS.role.propose) {
          const view = lexemeIds('1; 2; 3; 4 // add', 'inputs+message', { params: ['a'], inputs: 4 });
          if (n <= 2) [tokens, bad] = [[...view, E], false];
          else if (n <= 4) [tokens, stop] = [view.slice(0, 4), 'length'];
          else tokens = [tag(TAGS.segment.message), ...view, E];
        } else {
          let value: number[];
          if (type === TAGS.type.deduction) value = lexemeIds('"abc"', 'value');
          else {
            // the task's parameters: the program header after <params> (induction) or <program> (abduction)
            const prompt = tokenizer.decode([...r.prompt]);
            const header =
              prompt[prompt.indexOf(type === TAGS.type.induction ? TAGS.segment.params : TAGS.segment.program) + 1]!;
            const params = header.slice(header.indexOf('(') + 1, header.indexOf(')')).split(', ');
            value =
              type === TAGS.type.induction
                ? lexemeIds(`${header} return ${params[0]}; }`, 'program', { params })
                : lexemeIds(String(k % 9), 'args', { params });
          }
          expect(tokenizer.decode(value)).not.toContain(undefined);
          // an empty reasoning trace (<end>), then the answer
          if (n <= 2) [tokens, bad] = [[E, ...value, E], false];
          else if (n === 3) tokens = [E, tag(TAGS.role.solve), ...value, E];
          else if (n === 4) [tokens, stop] = [[E, ...value.slice(0, 1)], 'length'];
          else if (n === 5)
            tokens = [...value, E, ...value, E]; // a value where the trace goes: not a trace step
          else tokens = [E, ...value.slice(0, 1), tag(TAGS.segment.output), ...value.slice(1), E];
        }
        if (bad) malformed.add(JSON.stringify(tokens));
        return { tokens, logProbs: tokens.map(() => -1), masks: null, stop };
      });
      return { version: learner.policyVersion, completions }; // the newest weights, as OrtRollout
    },
  };
  return { engine, malformed };
}

describe('free decoding through the machines', () => {
  it('grades malformed completions as format errors: solver −1, proposal invalid (kind format, reward −1); the run completes', async () => {
    const learner = fakeLearner();
    const { engine, malformed } = scriptedFreeEngine(learner);
    const policy = new PolicyService(engine, { budgets, batchSize: 16, decoding: 'free' });
    const t = testCoordinator({
      config: {
        seed: 3,
        steps: 2,
        batch: {
          propose: { deduction: 7, abduction: 7, induction: 7 },
          solve: { deduction: 7, abduction: 7, induction: 7 },
        },
        references: 2,
        inductionInputs: 4,
        learnabilitySamples: 2,
        seedSize: 2,
        seedMaxRounds: 4,
        probeEvery: 0,
        checkpointEvery: 0,
      },
      policy,
      learner,
    });
    expect(await t.run()).toEqual({ reason: 'completed', steps: 2 });

    let bad = 0;
    let good = 0;
    for (const batch of learner.batches)
      for (const group of batch.batches)
        for (const s of group.samples) {
          expect(s.trace?.masks).toBeNull();
          if (malformed.has(JSON.stringify(s.trace!.tokens))) {
            bad++;
            expect(s.reward).toBe(-1);
          } else {
            good++;
            if (s.role === 'solve') expect([1, -0.5]).toContain(s.reward);
            else expect(s.reward).toBeGreaterThanOrEqual(0);
          }
        }
    expect(bad).toBeGreaterThan(10);
    expect(good).toBeGreaterThan(10);

    const proposals = t.eventsOf('proposal.validated');
    const invalid = proposals.filter((p) => !p.valid);
    expect(invalid.length).toBeGreaterThan(0);
    expect(new Set(invalid.map((p) => p.error))).toEqual(new Set(['format']));
    expect(proposals.some((p) => p.valid)).toBe(true);
    expect(t.eventsOf('error').filter((e) => e.kind !== 'seedShortfall')).toEqual([]);
    expect(learner.batches).toHaveLength(2);
  });
});
