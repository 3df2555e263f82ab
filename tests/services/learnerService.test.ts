// The learner service: a learning-rate warm-up that depends on the learner's step alone.

import { beforeAll, describe, expect, it } from 'vitest';
import { LearnerService } from '../../src/services/learnerService.js';
import { Rng } from '../../src/azr/rng.js';
import { initBackend } from '../../src/gpu/backend.js';
import { Learner } from '../../src/gpu/learner.js';
import { Gpt, TINY_CONFIG } from '../../src/gpu/model.js';
import { WeightBoard } from '../../src/gpu/weights.js';
import type { LearnInput } from '../../src/machines/effects.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** One step's input: two solver completions of opposite advantage. */
const input = (step: number): LearnInput => ({
  step,
  groups: [],
  batches: [
    {
      role: 'solve',
      type: 'deduction',
      samples: [1, -1].map((advantage, i) => ({
        id: `${step}/${i}`,
        role: 'solve' as const,
        type: 'deduction' as const,
        reward: advantage,
        tokens: 2,
        policyVersion: step - 1,
        step,
        advantage,
        trace: { prompt: [1, 2, 3], tokens: [4 + i, 5] },
      })),
    },
  ],
});

type Schedule = Omit<ConstructorParameters<typeof LearnerService>[1], 'board'>;

/**
 * The learning rate of optimizer steps 1–4: steps 1–2 through one service, steps 3–4 through a new one over the same
 * learner (as a resumed run builds it).
 */
async function ratesAcrossResume(learner: Learner, schedule: Schedule): Promise<number[]> {
  const lrs: number[] = [];
  for (const [from, to] of [
    [1, 2],
    [3, 4],
  ] as const) {
    const service = new LearnerService(learner, { ...schedule, board: new WeightBoard() });
    for (let step = from; step <= to; step++) {
      await service.learn(input(step));
      lrs.push(learner.optimizer.config.lr);
    }
  }
  return lrs;
}

describe('LearnerService warm-up', () => {
  it('steps with lr · k / warmupSteps for optimizer step k, then lr; a new service on a restored learner continues the schedule', async () => {
    const model = Gpt.init(TINY_CONFIG, new Rng(1));
    const learner = new Learner(model, { lr: 3e-3 });
    // a resumed run builds a new service over the restored learner (step 2): step 3 is still warm-up, then full lr
    const lrs = await ratesAcrossResume(learner, { warmup: { lr: 3e-3, steps: 3 } });
    expect(lrs.map((x) => +x.toExponential(6))).toEqual([1e-3, 2e-3, 3e-3, 3e-3]);
    learner.dispose();
    model.dispose();
  });

  it('decays linearly from lr to lrEnd over the run’s steps (warm-up on top), then holds; resumed, it continues', async () => {
    const model = Gpt.init(TINY_CONFIG, new Rng(1));
    const learner = new Learner(model, { lr: 3e-3 });
    const lrs = await ratesAcrossResume(learner, {
      warmup: { lr: 3e-3, steps: 2 },
      decay: { from: 3e-3, to: 1e-3, steps: 3 },
    });
    // step 1: 3e-3 · ½ (warm-up); step 2: 2e-3; step 3: 1e-3; past the last step: 1e-3
    expect(lrs.map((x) => +x.toExponential(6))).toEqual([1.5e-3, 2e-3, 1e-3, 1e-3]);
    learner.dispose();
    model.dispose();
  });
});
