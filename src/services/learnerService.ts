// LearnerEffect over src/gpu's Learner: one policy step on the six TRR++ batches (with the anchors: PPO clip, KL to the base, SFT mixing), weights published by version.

import type { Rng } from '../azr/index.js';
import type { GradientThreads, Learner, PolicySample, SupervisedSample } from '../gpu/learner.js';
import type { WeightBoard } from '../gpu/weights.js';
import type { LearnerEffect, LearnInput, LearnResult } from '../machines/effects.js';
import type { Sandbox } from '../sandbox/index.js';
import { labelChunk, type PretrainDataOptions } from '../pretrain/pretrainData.js';

/** Supervised batches for the SFT anchor: batch `step` is a function of the step alone (deterministic across resumes). */
interface SftSource {
  batch(step: number): Promise<SupervisedSample[]>;
}

/**
 * Executor-labelled tasks as in pretraining (src/pretrain/pretrainData.ts): chunk k = ⌊(step − 1) / chunkBatches⌋ is
 * labelled through the sandbox (the next one ahead of time), and step takes its batch (step − 1) mod batches.
 */
export class LabelledSftSource implements SftSource {
  private readonly chunks = new Map<number, Promise<SupervisedSample[][]>>();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly rng: Rng,
    private readonly options: PretrainDataOptions,
  ) {}

  private chunk(index: number): Promise<SupervisedSample[][]> {
    let c = this.chunks.get(index);
    if (c === undefined) {
      c = labelChunk(this.sandbox, this.rng, index, this.options).then((r) =>
        r.batches.map((b) => b.map((e) => ({ tokens: e.tokens, lossMask: e.lossMask }))),
      );
      this.chunks.set(index, c);
    }
    return c;
  }

  async batch(step: number): Promise<SupervisedSample[]> {
    const per = this.options.chunkBatches;
    const index = Math.floor((Math.max(1, step) - 1) / per);
    for (const k of this.chunks.keys()) if (k < index) this.chunks.delete(k);
    const batches = await this.chunk(index);
    void this.chunk(index + 1).catch(() => undefined); // label ahead while the step trains
    if (batches.length === 0)
      throw new Error(`SFT chunk ${index} gave no batch (context or format weights too small?)`);
    return batches[((Math.max(1, step) - 1) % per) % batches.length]!;
  }

  /** Waits for labelling in flight (before the sandbox closes). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.chunks.values());
  }
}

/** The step's trained completions as one policy batch: each replayed from its trace with its TRR++ advantage. */
export function policyBatch(input: LearnInput): PolicySample[] {
  const batch: PolicySample[] = [];
  let missing = 0;
  for (const group of input.batches)
    for (const s of group.samples) {
      if (s.trace === undefined || s.trace.tokens.length === 0) {
        missing++;
        continue;
      }
      batch.push({
        prompt: s.trace.prompt,
        tokens: s.trace.tokens,
        advantage: s.advantage,
        ...(s.trace.logProbs !== undefined ? { logProbs: s.trace.logProbs } : {}),
        ...(s.trace.masks !== undefined ? { masks: s.trace.masks } : {}),
      });
    }
  if (batch.length === 0)
    throw new Error(`step ${input.step}: no trained completion carries a trace (${missing} without)`);
  return batch;
}

interface LearnerServiceOptions {
  readonly board: WeightBoard;
  /** Supervised batches mixed into each step (the learner's sftCoef weights them); absent = none. */
  readonly sft?: SftSource;
  /** Worker threads that compute part of each step's gradients (`GradientWorkers`); absent = this thread alone. */
  readonly threads?: GradientThreads;
  /**
   * Linear warm-up: optimizer step k (from 1) uses lr · min(1, k / warmupSteps). A function of the learner's step
   * alone, so a resumed run continues the same schedule. Absent or 0: the learner's lr throughout.
   */
  readonly warmup?: { readonly lr: number; readonly steps: number };
  /**
   * Linear decay: optimizer step k (from 1) uses from + (to − from) · min(1, (k − 1) / (steps − 1)), the warm-up's
   * factor on top. A function of the learner's step alone, like the warm-up. Absent: no decay.
   */
  readonly decay?: { readonly from: number; readonly to: number; readonly steps: number };
}

/**
 * One optimizer step per training step: every trained completion of the six (role × type) batches with its TRR++
 * advantage, replayed exactly from its trace (prompt, tokens, rollout log-probs, grammar masks), as one policy
 * batch — PPO-clipped against the rollout log-probs, KL-anchored to the base and mixed with a supervised batch when
 * the scenario turns those on. The new weights go to the board as version = the learner's optimizer step.
 */
export class LearnerService implements LearnerEffect {
  constructor(
    private readonly learner: Learner,
    private readonly options: LearnerServiceOptions,
  ) {}

  async learn(input: LearnInput): Promise<LearnResult> {
    const batch = policyBatch(input);
    const sft =
      this.options.sft !== undefined && this.learner.config.sftCoef > 0
        ? await this.options.sft.batch(input.step)
        : undefined;
    // the step blocks the event loop: let the executor's messages through first
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { warmup, decay } = this.options;
    const k = this.learner.step + 1;
    const peak =
      decay !== undefined
        ? decay.from + (decay.to - decay.from) * Math.min(1, (k - 1) / Math.max(1, decay.steps - 1))
        : warmup !== undefined && warmup.steps > 0
          ? warmup.lr
          : undefined;
    if (peak !== undefined)
      this.learner.setLearningRate(
        peak * (warmup !== undefined && warmup.steps > 0 ? Math.min(1, k / warmup.steps) : 1),
      );
    const threads = this.options.threads;
    const m =
      threads !== undefined && threads.size > 0
        ? await this.learner.policyStepParallel(batch, sft, threads)
        : this.learner.policyStep(batch, sft);
    return {
      loss: m.loss,
      gradNorm: m.gradNorm,
      entropy: Math.max(0, m.entropy),
      policyVersion: m.step,
      tokensPerSecond: m.tokensPerSecond,
      ...(m.klReference !== null ? { kl: m.klReference } : {}),
    };
  }

  async publish(policyVersion: number): Promise<void> {
    if (policyVersion !== this.learner.step)
      throw new Error(`asked to publish version ${policyVersion}, the learner is at ${this.learner.step}`);
    const latest = this.options.board.latest();
    if (latest !== null && latest.version >= policyVersion) return; // already there (e.g. a retried publish)
    this.learner.publish(this.options.board);
  }
}
