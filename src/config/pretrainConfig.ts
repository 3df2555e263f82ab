// The `model:` and `pretrain:` sections of a scenario (zod): what `azr pretrain` reads (the run scenario, schema.ts,
// holds them too).

import { z } from 'zod';
import { learnerFields } from '../gpu/learnerConfig.js';
import { withShapeRules } from '../gpu/modelConfig.js';

// -----------------------------------------------------------------------------------------------------------
// model:

export const ModelSectionSchema = withShapeRules(
  z.strictObject({
    layers: z.number().int().min(1).max(12).default(2).describe('transformer blocks'),
    width: z
      .number()
      .int()
      .min(8)
      .max(1024)
      .default(64)
      .describe('embedding width d (d=64, 2 layers: about 128k parameters)'),
    heads: z.number().int().min(1).max(32).default(4).describe('attention heads; must divide width'),
    contextLength: z
      .number()
      .int()
      .min(32)
      .max(1024)
      .default(256)
      .describe(
        'most positions of prompt + answer; a proposer prompt with K references takes about 25 tokens per reference',
      ),
    positions: z
      .enum(['rope', 'learned'])
      .default('rope')
      .describe(
        "position encoding: 'rope' (rotary, relative; at equal steps it learned the probe faster) or 'learned' (an embedding per position, GPT-2)",
      ),
    outputHead: z
      .enum(['tied', 'untied'])
      .optional()
      .describe(
        "output head: 'tied' (absent) reads logits back through the input embedding (GPT-2); 'untied' gives it a matrix of its own (d × vocab more parameters)",
      ),
  }),
  'model.',
);

// -----------------------------------------------------------------------------------------------------------
// pretrain:

const weight = z.number().min(0);

export const FormatWeightsSchema = z
  .strictObject({
    solveDeduction: weight.default(5).describe('solver, deduction: program + input → output'),
    solveAbduction: weight.default(4).describe('solver, abduction: program + output → an input that produces it'),
    solveInduction: weight.default(2).describe('solver, induction: shown pairs + message → program'),
    proposeDeduction: weight.default(0.1).describe('proposer, deduction: K references → program + input'),
    proposeAbduction: weight.default(0.1).describe('proposer, abduction: K references → program + input'),
    proposeInduction: weight.default(0.1).describe('proposer, induction: program → N inputs + message'),
    drillSteps: weight
      .optional()
      .describe(
        "drill: a program's gold trace steps on its inputs with every operand a value (`7 % 3 ⇒ 1 ;`), no program or input shown, the loss on each step's value: the single operations on given values. Absent = 0",
      ),
    copyReads: weight
      .optional()
      .describe(
        'drill: a deduction prompt (program and input), then a read step for every parameter (`s ⇒ " a c a " ;`, as traces with traceOperands: reads begin), for up to `queries` inputs, the loss on each value: copying a value of several tokens from the prompt. Absent = 0',
      ),
  })
  .refine((w) => Object.values(w).some((x) => x > 0), { message: 'at least one format needs a positive weight' })
  .describe('relative share of each prompt format among training examples');

export const TierWeightsSchema = z
  .strictObject({
    easy: weight.default(2).describe('programs with 1 operation'),
    medium: weight.default(2).describe('programs with 2 operations'),
    hard: weight.default(1).describe('programs with 3–5 operations'),
  })
  .refine((w) => w.easy + w.medium + w.hard > 0, { message: 'at least one tier needs a positive weight' })
  .describe('relative share of training programs per difficulty tier (operation count, as the probe tiers)');

/** Gradient threads of a training loop (pretraining's, the self-play learner's): one declaration, `more` appended. */
export function trainingThreads(more: string) {
  return z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe(
      `training threads: each batch is split across this many threads (the main one and threads − 1 workers), which compute gradients in parallel; 1 = the main thread alone. The result depends on it only through float rounding. ${more}`,
    );
}

/** The learner's own fields (src/gpu/learnerConfig.ts) with pretraining's defaults: its lr is the schedule's peak. */
const pretrainLearner = learnerFields({ lr: 4e-3, weightDecay: 0.1, ppoClip: null });

export const PretrainSectionSchema = z
  .strictObject({
    steps: z
      .number()
      .int()
      .min(1)
      .default(8000)
      .describe(
        'optimizer steps: the budget knob (fewer steps = a deliberately weaker base); 8000 ≈ 15–20 minutes on 2 cores with 2 threads (the shipped base models/default; 2600 ≈ 5 minutes)',
      ),
    minutes: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('wall-clock budget for training instead of steps (not deterministic); null = use steps'),
    batchSize: z.number().int().min(1).max(1024).default(16).describe('sequences per optimizer step'),
    lr: pretrainLearner.lr.unwrap().max(1).default(4e-3).describe('peak AdamW learning rate'),
    minLr: z.number().min(0).max(1).default(4e-4).describe('learning rate at the end of the cosine decay'),
    warmupSteps: z.number().int().min(0).default(60).describe('linear warm-up steps before the cosine decay'),
    weightDecay: pretrainLearner.weightDecay.describe('decoupled weight decay on matrices'),
    formats: FormatWeightsSchema.prefault({}),
    tiers: TierWeightsSchema.prefault({}),
    maxOutputShare: z
      .number()
      .gt(0)
      .max(1)
      .default(0.05)
      .describe(
        'most share of one output value among solver deduction/abduction examples (true/false would otherwise be a third); 1 = no cap',
      ),
    queries: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(4)
      .describe(
        'queries per solver deduction/abduction example: after the first answer, more inputs (outputs) of the same program, each answered in turn',
      ),
    traceShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe(
        'share of solver deduction answers that show their gold reasoning trace (`operation ⇒ value ;` steps from an instrumented evaluation) before the answer; the rest answer directly under the same prompt. A small share gives a base that has seen reasoning but rarely uses it',
      ),
    traceOperands: z
      .enum(['names', 'reads'])
      .optional()
      .describe(
        "how a gold trace writes the function's parameters: 'names' (absent; `s .length ⇒ 2 ; 2 % 6 ⇒ 2 ;`) or 'reads' (a read step where each is first used, then every operand a value: `s ⇒ \"ea\" ; \"ea\" .length ⇒ 2 ; 2 % 6 ⇒ 2 ;`)",
      ),
    init: z
      .string()
      .min(1)
      .optional()
      .describe(
        'a base checkpoint directory to start from instead of fresh weights (continued pretraining: the same model section, a fresh optimizer and learning-rate schedule); a relative path is taken from the working directory. The cache keys the hash of its files. Absent: fresh weights from the seed',
      ),
    traceShareEnd: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'a trace-share schedule: the share moves linearly from traceShare at the first step to this at the last (a base that learns its operations from many traces, then answers mostly directly); absent: traceShare throughout. Needs a step budget (minutes: null)',
      ),
    references: z
      .number()
      .int()
      .min(1)
      .max(6)
      .default(3)
      .describe('most references K in a deduction/abduction proposer prompt (each example draws 1..K)'),
    inductionInputs: z
      .number()
      .int()
      .min(2)
      .max(16)
      .default(10)
      .describe('inputs N of an induction task (half shown, half hidden; the paper: 10)'),
    programsPerChunk: z
      .number()
      .int()
      .min(2)
      .default(96)
      .describe('programs generated and labelled together (one executor batch)'),
    chunkBatches: z
      .number()
      .int()
      .min(1)
      .default(16)
      .describe('training batches cut from one labelled chunk (sorted by length first, so batches pad little)'),
    prefetch: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe('labelled chunks kept ready ahead of the trainer (bounds memory and executor lead)'),
    workers: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('executor worker threads labelling data and grading the probe'),
    threads: trainingThreads('The base cache keys it.'),
    probeEvery: z
      .number()
      .int()
      .min(0)
      .default(2000)
      .describe(
        'also evaluate the probe every this many steps (the learning curve, ≈ 1 s each); 0 = start and end only',
      ),
  })
  .refine((p) => p.minLr <= p.lr, { message: 'pretrain.minLr must not exceed pretrain.lr' })
  .refine((p) => p.traceShareEnd === undefined || p.minutes === null, {
    message: 'pretrain.traceShareEnd needs a step budget (minutes: null)',
  });

export type PretrainSection = z.infer<typeof PretrainSectionSchema>;
export type TierWeights = z.infer<typeof TierWeightsSchema>;

/** What `azr pretrain` reads from a scenario; other top-level sections belong to other commands and are ignored. */
const PretrainScenarioSchema = z.looseObject({
  seed: z
    .number()
    .int()
    .min(0)
    .max(0xffffffff)
    .default(1)
    .describe('root seed: model initialisation and training data derive from it'),
  model: ModelSectionSchema.prefault({}).describe('the policy transformer'),
  pretrain: PretrainSectionSchema.prefault({}).describe(
    'the base-model phase: supervised training on executor-labelled programs',
  ),
});

export type PretrainScenario = z.infer<typeof PretrainScenarioSchema>;

/** The defaults (what `azr pretrain` uses without a scenario file). */
export function defaultPretrainScenario(): PretrainScenario {
  return PretrainScenarioSchema.parse({});
}

/** Bad scenario input: the message says which file and which field. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Checks a parsed scenario object; throws ScenarioError listing every bad field. */
export function parsePretrainScenario(raw: unknown, source = 'scenario'): PretrainScenario {
  const r = PretrainScenarioSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ScenarioError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}
