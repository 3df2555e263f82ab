// TRR++ (Task-Relative REINFORCE++): advantages normalised separately in each (role × task type) group.

import { ROLES, TASK_TYPES, type Role, type TaskType } from './tasks.js';

/**
 * Which statistics normalise a group: `perSequence` (the paper, Eq. 8: each response counts once) or
 * `tokenWeighted` (the original code, verl's masked whitening: each response counts by its length in tokens).
 */
export type TrrStatistics = 'perSequence' | 'tokenWeighted';

/**
 * Which rewards share a baseline: `roleType` (TRR++, the paper: six groups, {propose, solve} × {deduction,
 * abduction, induction}), `global` (one group over the whole batch: plain REINFORCE++, an ablation) or `none`
 * (the raw reward is the advantage: REINFORCE without a baseline, an ablation).
 */
export type TrrBaseline = 'roleType' | 'global' | 'task' | 'none';

interface TrrOptions {
  /** Default `perSequence` (paper). */
  readonly statistics?: TrrStatistics;
  /** Default `roleType` (paper). */
  readonly baseline?: TrrBaseline;
  /** Added to the variance under the square root, as verl does. Default 1e-8. */
  readonly epsilon?: number;
}

/** One sampled response: who produced it for which task type, its scalar reward and its length in tokens. */
export interface Rollout {
  readonly role: Role;
  readonly type: TaskType;
  readonly reward: number;
  /** Response length in tokens (≥ 1); needed by `tokenWeighted`. */
  readonly length?: number;
  /**
   * The task this response answers, when several responses answer one (`selfPlay.solveSamples` > 1): with baseline
   * `task`, responses to one task share a baseline (GRPO's group; not the paper's). Absent: the (role × type) group.
   */
  readonly group?: string;
}

/** The statistics of one normalisation group, for the run's metrics. */
export interface GroupStats {
  /** `propose/deduction` …, or `all` for the global baseline. */
  readonly key: string;
  readonly n: number;
  readonly mean: number;
  readonly std: number;
  /** True when every reward in the group was equal, so every advantage is 0. */
  readonly zero: boolean;
}

/**
 * Normalises one group's rewards:
 *
 *     A_j = (r_j − μ) / sqrt(σ² + ε)
 *     perSequence:   μ = (1/n) Σ_j r_j,           σ² = Σ_j (r_j − μ)² / (n − 1)
 *     tokenWeighted: μ = Σ_j L_j r_j / Σ_j L_j,   σ² = Σ_j L_j (r_j − μ)² / (Σ_j L_j − 1)
 *
 * (σ² unbiased, as verl computes it). A group whose rewards are all equal — a single response included — gets
 * advantages of exactly 0, never NaN.
 */
export function normalizeGroup(
  rewards: readonly number[],
  lengths: readonly number[] | undefined,
  statistics: TrrStatistics = 'perSequence',
  epsilon = 1e-8,
): { advantages: number[]; mean: number; std: number; zero: boolean } {
  const n = rewards.length;
  for (const r of rewards) if (!Number.isFinite(r)) throw new RangeError(`rewards must be finite, got ${r}`);
  if (n === 0) return { advantages: [], mean: 0, std: 0, zero: true };
  const w = (j: number): number => {
    if (statistics === 'perSequence') return 1;
    const l = lengths?.[j];
    if (l === undefined || !Number.isInteger(l) || l < 1)
      throw new RangeError(`tokenWeighted statistics need every length to be an integer ≥ 1, got ${l}`);
    return l;
  };
  let total = 0;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    total += w(j);
    sum += w(j) * rewards[j]!;
  }
  const first = rewards[0]!;
  if (rewards.every((r) => r === first)) return { advantages: rewards.map(() => 0), mean: first, std: 0, zero: true };
  const mean = sum / total;
  let sq = 0;
  for (let j = 0; j < n; j++) sq += w(j) * (rewards[j]! - mean) ** 2;
  const variance = sq / (total - 1);
  const scale = Math.sqrt(variance + epsilon);
  return { advantages: rewards.map((r) => (r - mean) / scale), mean, std: Math.sqrt(variance), zero: false };
}

/**
 * TRR++ advantages (paper Eq. 8):
 *
 *     A_{task,role}^norm = (r − μ_{task,role}) / σ_{task,role},   task ∈ {ded, abd, ind}, role ∈ {propose, solve}
 *
 * computed separately in each of the six (role × type) groups of the batch (see {@link normalizeGroup} for the
 * statistics), or over the whole batch (`global`), or per task (`task`: the responses to one task, GRPO-style; a
 * response without a task keeps its role × type group), or not at all (`none`: A = r). Every token of response j gets
 * A_j. Returns the advantages in the rollouts' order and each group's statistics.
 */
export function trrAdvantages(
  rollouts: readonly Rollout[],
  options: TrrOptions = {},
): { advantages: number[]; groups: GroupStats[] } {
  const statistics = options.statistics ?? 'perSequence';
  const baseline = options.baseline ?? 'roleType';
  const epsilon = options.epsilon ?? 1e-8;
  const advantages = new Array<number>(rollouts.length).fill(0);
  if (baseline === 'none') {
    rollouts.forEach((r, j) => {
      if (!Number.isFinite(r.reward)) throw new RangeError(`rewards must be finite, got ${r.reward}`);
      advantages[j] = r.reward;
    });
    return { advantages, groups: [] };
  }
  const members = new Map<string, number[]>();
  const keys = baseline === 'global' ? ['all'] : ROLES.flatMap((role) => TASK_TYPES.map((type) => `${role}/${type}`));
  for (const k of keys) members.set(k, []);
  rollouts.forEach((r, j) => {
    const roleType = `${r.role}/${r.type}`;
    if (baseline !== 'global' && !members.has(roleType)) throw new RangeError(`unknown role/type ${roleType}`);
    const key =
      baseline === 'global'
        ? 'all'
        : baseline === 'task' && r.group !== undefined
          ? `${roleType}/${r.group}`
          : roleType;
    const list = members.get(key) ?? [];
    if (!members.has(key)) members.set(key, list);
    list.push(j);
  });
  const groups: GroupStats[] = [];
  for (const [key, idx] of members) {
    if (idx.length === 0) continue;
    const res = normalizeGroup(
      idx.map((j) => rollouts[j]!.reward),
      idx.map((j) => rollouts[j]!.length ?? NaN),
      statistics,
      epsilon,
    );
    idx.forEach((j, q) => (advantages[j] = res.advantages[q]!));
    groups.push({ key, n: idx.length, mean: res.mean, std: res.std, zero: res.zero });
  }
  return { advantages, groups };
}
