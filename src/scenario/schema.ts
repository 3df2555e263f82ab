// The run scenario (zod): everything `azr run` reads — model, base-model phase, self-play (CoordinatorConfig), policy, learner, executor, probe, run options.
//
// Every field has a default, so `{}` is a valid scenario; unknown keys are errors (a typo must not silently fall back to
// a default). The schema is the documentation: `runScenarioJsonSchema()` exports it with every `.describe()`.

import { z } from 'zod';
import type { CoordinatorConfigInput } from '../machines/config.js';
import { ModelSectionSchema, PretrainSectionSchema, trainingThreads } from './pretrainConfig.js';
import { DEFAULT_TRACE_BUDGETS } from '../azr/trace.js';

const TASK_TYPE = z.enum(['deduction', 'abduction', 'induction']);
const positiveInt = z.number().int().min(1);

/** Sequences per task type: one number for all three, or one per type. */
const perType = (what: string, fallback: number) =>
  z
    .union([
      positiveInt,
      z.strictObject({
        deduction: positiveInt.default(fallback).describe(`${what}, deduction`),
        abduction: positiveInt.default(fallback).describe(`${what}, abduction`),
        induction: positiveInt.default(fallback).describe(`${what}, induction`),
      }),
    ])
    .default(fallback)
    .describe(`${what}: one number for every task type, or { deduction, abduction, induction }`);

export const SelfPlaySectionSchema = z
  .strictObject({
    mode: z
      .enum(['sync', 'async'])
      .default('sync')
      .describe(
        "'sync': the paper's phased on-policy step (deterministic); 'async': the next step is proposed and solved while the learner learns, stale rollouts dropped (not the paper)",
      ),
    steps: z.number().int().min(0).default(20).describe('training steps (the paper’s schedule: 960)'),
    taskTypes: z
      .array(TASK_TYPE)
      .min(1)
      .default(['deduction', 'abduction', 'induction'])
      .describe('enabled task types, in the order a step runs them (paper: all three)'),
    batch: z
      .strictObject({
        propose: perType('proposer completions per step', 8),
        solve: perType('solver completions per step', 8),
      })
      .prefault({})
      .describe('sequences per (role × type) group per step (paper: 64 each)'),
    references: z
      .number()
      .int()
      .min(0)
      .default(2)
      .describe(
        "K reference triplets in a deduction/abduction proposer prompt (paper: 6; each costs ~25 tokens of context); 0 = no references, the paper's 'w/o references' ablation. The induction proposer always sees one program from the buffers (its task, not a reference)",
      ),
    inductionInputs: z
      .number()
      .int()
      .min(2)
      .max(16)
      .default(6)
      .describe('N inputs of an induction proposal, half shown, half hidden (paper: 10)'),
    learnabilitySamples: positiveInt.default(4).describe('n Monte Carlo solver attempts per valid proposal (paper: 8)'),
    solveSamples: positiveInt
      .max(16)
      .default(1)
      .describe(
        'answers sampled and trained on per solver task (paper: 1; > 1 with advantage.baseline task is GRPO-style)',
      ),
    temperature: z
      .number()
      .positive()
      .default(1)
      .describe('sampling temperature of every training and learnability rollout (paper: 1.0)'),
    unlearnable: z
      .enum(['zero', 'minusHalf'])
      .default('zero')
      .describe(
        "reward of a valid proposal with mean success 0 or 1: 'zero' (paper Eq. 4) or 'minusHalf' (original code)",
      ),
    inductionAccuracy: z
      .enum(['binary', 'fraction'])
      .default('binary')
      .describe("induction answer accuracy: 'binary' (paper) or 'fraction' of hidden pairs"),
    advantage: z
      .strictObject({
        statistics: z
          .enum(['perSequence', 'tokenWeighted'])
          .default('perSequence')
          .describe("TRR++ statistics: 'perSequence' (paper Eq. 8) or 'tokenWeighted' (original code)"),
        baseline: z
          .enum(['roleType', 'global', 'task', 'none'])
          .default('roleType')
          .describe(
            "'roleType': six groups normalised separately (paper TRR++); 'task': the answers to one solver task share a baseline (GRPO-style, with solveSamples > 1)",
          ),
      })
      .prefault({})
      .describe('TRR++ advantage options'),
    buffer: z
      .strictObject({
        cap: positiveInt.default(16384).describe('entries per buffer (original max_programs: 16384)'),
        eviction: z
          .enum(['dropOldest', 'keepOldest'])
          .default('dropOldest')
          .describe("at the cap: 'dropOldest' (azr) or 'keepOldest' (original)"),
        dedup: z.boolean().default(false).describe('skip tasks already in the buffer (anti-degeneracy; paper: false)'),
        mix: z.enum(['maxNew', 'halfNew', 'uniform']).default('maxNew').describe("solver task draw: 'maxNew' (paper)"),
        recentWindow: z.number().int().min(0).default(1).describe('"recent" window of maxNew, in steps (paper: 1)'),
        referenceWeighting: z
          .enum(['uniform', 'step'])
          .default('uniform')
          .describe("proposer reference weighting: 'uniform' (paper)"),
        maxProgramShare: z
          .number()
          .gt(0)
          .max(1)
          .nullable()
          .default(null)
          .describe(
            'anti-degeneracy: a valid task is not buffered when its program already holds this share of its buffer (counted in health.programCapped); null = no cap (paper)',
          ),
        admit: z
          .enum(['valid', 'learnable'])
          .default('valid')
          .describe(
            "which valid proposals of a training step are buffered: 'valid' (paper) or 'learnable' (only 0 < p̂ < 1; the filter-only control arm)",
          ),
      })
      .prefault({})
      .describe('the task buffers'),
    novelty: z
      .strictObject({
        coef: z
          .number()
          .min(0)
          .default(0)
          .describe(
            'bonus coef / (1 + k) on each valid proposal’s reward, k = times its program was proposed in the window; 0 = off (paper)',
          ),
        window: positiveInt.default(1).describe('novelty window, in training steps'),
      })
      .prefault({})
      .describe('anti-degeneracy: novelty bonus for the proposer (src/azr/novelty.ts; not in the paper)'),
    seedSize: positiveInt.default(8).describe('valid tasks each buffer holds before training starts (paper: 256)'),
    seedMaxRounds: positiveInt
      .default(16)
      .describe('seeding gives up (with an error event) after this many propose rounds per type'),
    trainProposer: z
      .boolean()
      .default(true)
      .describe('train on the proposer’s completions (paper); false trains the solver only'),
    probeEvery: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('probe every this many steps (and once before step 1: the base model); 0 = base only'),
    checkpointEvery: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('checkpoint every this many steps (and at the end and on stop); 0 = end/stop only'),
    maxStaleness: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe(
        'async only: a rollout more than this many weight versions behind the learner when its batch is formed is dropped (rollout.dropped, stale). Default 1: step t+1 is rolled out while step t is learned, so its rollouts are one version behind; 0 drops them',
      ),
    queueCapacity: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('scored rollouts the learner’s channel may hold beyond its credit'),
    effectRetries: z
      .number()
      .int()
      .min(0)
      .default(2)
      .describe('a failed effect call (a whole batch) is retried this many times'),
    healthWindow: positiveInt
      .default(1)
      .describe('health.distinctPrograms counts distinct programs over this many recent steps'),
  })
  .describe('the self-play loop (maps onto CoordinatorConfig)');

export const PolicySectionSchema = z
  .strictObject({
    budgets: z
      .strictObject({
        program: positiveInt.default(24).describe('most lexemes of a proposed program'),
        args: positiveInt.default(12).describe('most lexemes of a proposed argument list (deduction/abduction)'),
        inductionInputs: positiveInt.default(64).describe('most lexemes of an induction proposal (N inputs + message)'),
        deduction: positiveInt.default(16).describe('most lexemes of a deduction answer (a value)'),
        abduction: positiveInt.default(16).describe('most lexemes of an abduction answer (an argument list)'),
        induction: positiveInt.default(32).describe('most lexemes of an induction answer (a program)'),
        trace: z
          .strictObject({
            deduction: z
              .number()
              .int()
              .min(0)
              .default(DEFAULT_TRACE_BUDGETS.deduction)
              .describe('before a deduction answer: forward evaluation of the program on the input'),
            abduction: z
              .number()
              .int()
              .min(0)
              .default(DEFAULT_TRACE_BUDGETS.abduction)
              .describe('before an abduction answer (gold traces: none yet)'),
            induction: z
              .number()
              .int()
              .min(0)
              .default(DEFAULT_TRACE_BUDGETS.induction)
              .describe('before an induction answer (gold traces: none yet)'),
          })
          .prefault({})
          .describe(
            'most lexemes of the reasoning trace a solver may write before its answer, per task type (steps `operation ⇒ value ;`; 0 = it answers directly)',
          ),
      })
      .prefault({})
      .describe(
        'lexeme budgets of the answer segments (a completion that runs out is a format error; free decoding: tokens, plus one <end> per segment)',
      ),
    decoding: z
      .enum(['constrained', 'free'])
      .default('constrained')
      .describe(
        "self-play rollouts (proposer, solver, learnability): 'constrained' = only tokens the task-language grammar allows (azr); 'free' = the paper's free generation over the whole vocabulary, an answer ending after one <end> per segment or at its budget, malformed answers graded as format errors (solver −1, proposal invalid) — an ablation. The probe stays constrained (it measures the model, not the decoder)",
      ),
    proposer: z
      .enum(['model', 'generator'])
      .default('model')
      .describe(
        "who proposes: 'model' (self-play) or 'generator' — tasks drawn from the task-language generator (never a probe program) and solved by the model; a control arm, with selfPlay.trainProposer false (random-tasks; with selfPlay.buffer.admit learnable: filter-only)",
      ),
    rolloutBatch: positiveInt
      .default(128)
      .describe('prompts decoded together by onnxruntime (grouped by prompt length)'),
    intraOpThreads: positiveInt
      .default(1)
      .describe('onnxruntime threads (1: on 2 cores the learner and executors need the other)'),
  })
  .describe('the rollout engine (onnxruntime over the published weights)');

export const LearnerSectionSchema = z
  .strictObject({
    lr: z.number().positive().default(1e-4).describe('AdamW learning rate of the self-play phase'),
    weightDecay: z
      .number()
      .min(0)
      .default(0)
      .describe('decoupled weight decay on matrices (0: keep the base where RL does not push)'),
    maxGradNorm: z.number().positive().default(1).describe('global gradient-norm clip (paper: 1.0)'),
    ppoClip: z.number().positive().nullable().default(0.2).describe('PPO clip ε; null = REINFORCE (−A·log π)'),
    ppoEpochs: positiveInt
      .default(1)
      .describe('passes over each batch (optimizer steps per training step; > 1 needs ppoClip)'),
    entropyCoef: z.number().min(0).default(0).describe('entropy bonus c_H (paper: 0)'),
    klCoef: z
      .number()
      .min(0)
      .default(0)
      .describe('β of KL(π ‖ base) per token: the anchor to the base model (paper: 0)'),
    sftCoef: z
      .number()
      .min(0)
      .default(0)
      .describe('λ of a supervised term on executor-labelled tasks (as pretraining) mixed into each step (paper: 0)'),
    sftBatch: positiveInt.default(16).describe('supervised sequences per step when sftCoef > 0'),
    warmupSteps: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'linear learning-rate warm-up over the first this many optimizer steps of self-play (lr · step / warmupSteps; 0 = none, the paper)',
      ),
    aggregation: z
      .enum(['token-mean', 'sequence-mean'])
      .default('token-mean')
      .describe("how token losses combine: 'token-mean' (veRL) or 'sequence-mean'"),
    threads: trainingThreads('A sync run is deterministic for a given value.'),
  })
  .describe('the optimizer step and its anchors (all off = the paper)');

export const ExecutorSectionSchema = z
  .strictObject({
    workers: positiveInt.default(1).describe('sandbox worker threads'),
    timeoutMs: positiveInt.default(1000).describe('in-VM deadline per program run, ms'),
    rejectInputIgnoring: z
      .boolean()
      .default(false)
      .describe(
        'anti-degeneracy: a proposal whose program ignores its input (the same output on every probe input; induction: on its N inputs) is invalid (kind input_ignoring; paper: false). The same decision gives health.inputIgnoringShare, on or off',
      ),
    rejectArgumentCopy: z
      .boolean()
      .default(false)
      .describe(
        'admission gate: a proposal that returns one of its own arguments on its input and every probe input is invalid (kind copies_argument; paper: false)',
      ),
    probeInputs: positiveInt
      .max(16)
      .default(1)
      .describe(
        'generated inputs a one-input proposal is also run on: they decide whether it ignores its input (health.inputIgnoringShare, and rejectInputIgnoring: all give its output) and feed rejectArgumentCopy',
      ),
  })
  .describe('the sandboxed executor');

export const ProbeSectionSchema = z
  .strictObject({
    file: z.string().min(1).nullable().default(null).describe('probe set JSONL; null = scenarios/probe.jsonl'),
    stride: positiveInt
      .default(1)
      .describe('evaluate every stride-th probe task (1 = all; a smaller probe for quick scenarios)'),
    samples: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(8)
      .describe(
        'k: answers sampled per task at the training temperature besides the greedy one, for pass@k (0 = greedy only)',
      ),
  })
  .describe('the held-out probe (greedy pass@1 and sampled pass@k, graded by the executor)');

export const RunSectionSchema = z
  .strictObject({
    keepCheckpoints: positiveInt
      .default(3)
      .describe('checkpoints kept in runs/<name>/checkpoints (older ones are deleted)'),
    cacheDir: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('where built base models are cached; null = <out>/.cache'),
  })
  .describe('run directory options');

export const RunScenarioSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name is letters, digits, dot, dash and underscore')
      .default('run')
      .describe('run name: the run directory is runs/<name>-<time>'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(1)
      .describe('root seed of every random draw (model init, data, sampling)'),
    backend: z
      .enum(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'])
      .nullable()
      .default(null)
      .describe('tensor backend; null = the best that loads (wasm out of the box)'),
    base: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('a base checkpoint directory (azr pretrain --out); null = build it from model:/pretrain: and cache it'),
    model: ModelSectionSchema.prefault({}).describe(
      'the policy transformer (ignored when base names a checkpoint: its config wins)',
    ),
    pretrain: PretrainSectionSchema.prefault({}).describe(
      'the base-model phase, run when no base checkpoint is named or cached',
    ),
    selfPlay: SelfPlaySectionSchema.prefault({}),
    policy: PolicySectionSchema.prefault({}),
    learner: LearnerSectionSchema.prefault({}),
    executor: ExecutorSectionSchema.prefault({}),
    probe: ProbeSectionSchema.prefault({}),
    run: RunSectionSchema.prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.learner.ppoEpochs > 1 && s.learner.ppoClip === null)
      ctx.addIssue({
        code: 'custom',
        path: ['learner', 'ppoEpochs'],
        message: 'ppoEpochs > 1 needs ppoClip (re-using a batch without clipping is not REINFORCE)',
      });
    if (s.policy.proposer === 'generator' && s.selfPlay.trainProposer)
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'proposer'],
        message: 'the generator proposer is not a policy to train: set selfPlay.trainProposer to false',
      });
    if (new Set(s.selfPlay.taskTypes).size !== s.selfPlay.taskTypes.length)
      ctx.addIssue({ code: 'custom', path: ['selfPlay', 'taskTypes'], message: 'a task type is listed twice' });
  });

export type RunScenario = z.infer<typeof RunScenarioSchema>;
export type RunScenarioInput = z.input<typeof RunScenarioSchema>;

function each(x: number | { deduction: number; abduction: number; induction: number }) {
  return typeof x === 'number' ? { deduction: x, abduction: x, induction: x } : x;
}

/** The coordinator's view of a scenario. */
export function coordinatorConfigOf(s: RunScenario): CoordinatorConfigInput {
  const p = s.selfPlay;
  return {
    seed: s.seed,
    mode: p.mode,
    steps: p.steps,
    taskTypes: p.taskTypes,
    batch: { propose: each(p.batch.propose), solve: each(p.batch.solve) },
    references: p.references,
    inductionInputs: p.inductionInputs,
    learnabilitySamples: p.learnabilitySamples,
    solveSamples: p.solveSamples,
    temperature: p.temperature,
    unlearnable: p.unlearnable,
    inductionAccuracy: p.inductionAccuracy,
    advantage: { ...p.advantage },
    buffer: { ...p.buffer },
    novelty: { ...p.novelty },
    seedSize: p.seedSize,
    seedMaxRounds: p.seedMaxRounds,
    trainProposer: p.trainProposer,
    probeEvery: p.probeEvery,
    checkpointEvery: p.checkpointEvery,
    maxStaleness: p.maxStaleness,
    queueCapacity: p.queueCapacity,
    effectRetries: p.effectRetries,
    healthWindow: p.healthWindow,
  };
}

/** JSON Schema of the scenario file, with every field's description. */
export function runScenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RunScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
