// The learner's options: one zod declaration each, shared by the Learner (src/gpu/learner.ts) and a run scenario's
// `learner:` section (src/config/schema.ts). Only zod here, so the scenario schema loads without tensors.

import { z } from 'zod';

/** The defaults that differ between the learner used as a library (pretraining, tests) and a run's self-play phase. */
interface LearnerDefaults {
  readonly lr: number;
  readonly weightDecay: number;
  readonly ppoClip: number | null;
}

/**
 * The policy-step options a run's scenario sets (its `learner:` section, src/config/schema.ts, spreads these), with
 * the given defaults: the only declaration of each. Weight decay applies to matrices only (gains and biases are not
 * decayed); `klCoef` > 0 needs a reference model; `ppoEpochs` > 1 needs `ppoClip` ({@link clipRule}).
 */
export function learnerFields(d: LearnerDefaults) {
  return {
    lr: z.number().positive().default(d.lr).describe('AdamW learning rate of the self-play phase'),
    weightDecay: z
      .number()
      .min(0)
      .default(d.weightDecay)
      .describe('decoupled weight decay on matrices (0: keep the base where RL does not push)'),
    maxGradNorm: z.number().positive().default(1).describe('global gradient-norm clip (paper: 1.0)'),
    ppoClip: z.number().positive().nullable().default(d.ppoClip).describe('PPO clip ε; null = REINFORCE (−A·log π)'),
    ppoEpochs: z
      .number()
      .int()
      .min(1)
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
    aggregation: z
      .enum(['token-mean', 'sequence-mean'])
      .default('token-mean')
      .describe("how token losses combine: 'token-mean' (veRL) or 'sequence-mean'"),
  };
}

/** The one rule across fields: re-using a batch (ppoEpochs > 1) needs PPO's clipping. For `.superRefine`. */
export function clipRule(c: { readonly ppoEpochs: number; readonly ppoClip: number | null }, ctx: z.RefinementCtx) {
  if (c.ppoEpochs > 1 && c.ppoClip === null)
    ctx.addIssue({
      code: 'custom',
      path: ['ppoEpochs'],
      message: 'ppoEpochs > 1 needs ppoClip (re-using a batch without clipping is not REINFORCE)',
    });
}

// the library's defaults; its lr has none (the default given here is unwrapped below: callers must name one)
const { lr, weightDecay, maxGradNorm, ...policy } = learnerFields({ lr: 1e-4, weightDecay: 0.1, ppoClip: null });

/** The learner's config: {@link learnerFields} (weight decay 0.1 as nanoGPT, plain REINFORCE) and the AdamW constants. */
export const LearnerConfigSchema = z
  .object({
    lr: lr.unwrap(),
    beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW β1'),
    beta2: z.number().min(0).lt(1).default(0.95).describe('AdamW β2 (nanoGPT: 0.95)'),
    eps: z.number().positive().default(1e-8).describe('AdamW ε'),
    weightDecay,
    maxGradNorm,
    temperature: z
      .number()
      .positive()
      .default(1.0)
      .describe('temperature of the policy being trained; must equal the sampling temperature'),
    ...policy,
  })
  .superRefine(clipRule);

export type LearnerConfig = z.infer<typeof LearnerConfigSchema>;
export type LearnerConfigInput = z.input<typeof LearnerConfigSchema>;
