// The run scenario (zod): everything `azr run` reads — model, base-model phase, self-play (CoordinatorConfig), policy, learner, executor, probe, run options.
//
// Every field has a default, so `{}` is a valid scenario; unknown keys are errors (a typo must not silently fall back to
// a default). The schema is the documentation: `runScenarioJsonSchema()` exports it with every `.describe()`.

import { z } from 'zod';
import { selfPlaySchema, type CoordinatorConfigInput, type SelfPlayDefaults } from '../machines/config.js';
import { ModelSectionSchema, PretrainSectionSchema, trainingThreads } from './pretrainConfig.js';
import { DEFAULT_TRACE_BUDGETS } from '../azr/trace.js';
import { TRACE_SCAFFOLDS } from '../azr/traceScaffold.js';
import { clipRule, learnerFields } from '../gpu/learnerConfig.js';

const positiveInt = z.number().int().min(1);

/** A scenario's defaults: a small run (the paper's numbers are in each field's description). */
const SCENARIO_SELF_PLAY_DEFAULTS: SelfPlayDefaults = {
  steps: 20,
  batch: 8,
  references: 2,
  inductionInputs: 6,
  learnabilitySamples: 4,
  seedSize: 8,
  seedMaxRounds: 16,
  probeEvery: 5,
  checkpointEvery: 5,
};

/** The coordinator's own schema (src/machines/config.ts) with a scenario's defaults. */
export const SelfPlaySectionSchema = selfPlaySchema(SCENARIO_SELF_PLAY_DEFAULTS).describe(
  'the self-play loop (maps onto CoordinatorConfig)',
);

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
    traceScaffold: z
      .enum(TRACE_SCAFFOLDS)
      .default('off')
      .describe(
        "a deduction trace that follows its program (solver rollouts and the probe): 'off' = the free trace grammar (any expression as a step's left side); 'names' or 'reads' = the decoder writes each step's left side, the program's next operation on the values the trace has written (a branch follows the test's written value), with operands as the base's pretrain.traceOperands writes them, and the solver writes only the values; no value is checked, only the answer is graded",
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

/** The learner's own fields (src/gpu/learner.ts) with a run's defaults, and the run's schedule and threads. */
const { aggregation, ...learner } = learnerFields({ lr: 1e-4, weightDecay: 0, ppoClip: 0.2 });

export const LearnerSectionSchema = z
  .strictObject({
    ...learner,
    sftBatch: positiveInt.default(16).describe('supervised sequences per step when sftCoef > 0'),
    warmupSteps: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'linear learning-rate warm-up over the first this many optimizer steps of self-play (lr · step / warmupSteps; 0 = none, the paper)',
      ),
    lrEnd: z
      .number()
      .positive()
      .optional()
      .describe(
        'linear learning-rate decay over self-play: from lr at the first optimizer step to this at the last (selfPlay.steps), the warm-up on top; absent: lr throughout. Positive, as every rate the learner takes',
      ),
    aggregation,
    threads: trainingThreads('A sync run is deterministic for a given value.'),
  })
  .superRefine(clipRule)
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
    transport: z
      .enum(['local', 'nats'])
      .default('local')
      .describe(
        'where the sandbox jobs (validation, grading, the probe, the supervised labels) run: local = this process’s worker threads (workers); nats = `azr worker` processes reached through the NATS server at executor.nats.url (same results)',
      ),
    nats: z
      .strictObject({
        url: z.string().min(1).default('nats://127.0.0.1:4222').describe('the NATS server (comma-separate several)'),
        timeoutMs: positiveInt
          .default(30_000)
          .describe('most ms one request (a chunk of jobs) may take before it is sent to another worker'),
        retries: z
          .number()
          .int()
          .min(0)
          .default(2)
          .describe('requests sent again after a timeout before their jobs answer crashed'),
        chunk: positiveInt.default(32).describe('jobs per request: a batch is spread over the workers in chunks'),
        maxInFlight: positiveInt.default(8).describe('requests out at once: the bound on work handed to the workers'),
      })
      .prefault({})
      .describe('the executor over NATS (transport: nats)'),
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
    if (s.policy.proposer === 'generator' && s.selfPlay.trainProposer)
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'proposer'],
        message: 'the generator proposer is not a policy to train: set selfPlay.trainProposer to false',
      });
  });

export type RunScenario = z.infer<typeof RunScenarioSchema>;

/** The coordinator's view of a scenario: its parsed `selfPlay:` section and its seed, as they are. */
export function coordinatorConfigOf(s: RunScenario): CoordinatorConfigInput {
  return { seed: s.seed, ...s.selfPlay };
}

/** JSON Schema of the scenario file, with every field's description. */
export function runScenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RunScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
