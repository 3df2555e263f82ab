// A task buffer (one per task type): step-tagged entries, reference and solver sampling, cap, dedup, snapshots.

import { PAPER_DEFAULTS } from './defaults.js';
import type { Rng } from './rng.js';
import { isInductionTask, type Task } from './tasks.js';

/**
 * How proposer references are weighted: `uniform` (the paper's runs) or `step` (the original's alternative:
 * weight = creation step + 1, favouring recent entries).
 */
export type ReferenceWeighting = 'uniform' | 'step';

/**
 * How a step's solver tasks are drawn: `maxNew` (the paper's: as many recent entries as fit, then uniform over
 * the whole buffer), `halfNew` (at most half recent, the rest uniform) or `uniform`.
 */
export type SolverMix = 'maxNew' | 'halfNew' | 'uniform';

/**
 * What happens at the cap: `dropOldest` (azr's default, FIFO: the oldest entries make room) or `keepOldest`
 * (the original code: the first `cap` entries stay and later ones are dropped — §5.5 of the reference calls this
 * very likely unintended).
 */
type Eviction = 'dropOldest' | 'keepOldest';

export interface BufferOptions {
  /** Most entries kept. Default 16384 (the original's `max_programs`). */
  readonly cap?: number;
  /** Default `dropOldest`. */
  readonly eviction?: Eviction;
  /** Skip a task whose (program, input) is already in the buffer. Default false (the original does not dedup). */
  readonly dedup?: boolean;
  /**
   * Anti-degeneracy (not in the paper): a task is not added when its program already holds at least this share
   * of the buffer — `count(program) ≥ 1` and `count(program) ≥ maxProgramShare × size`, counted before the task
   * is added. A program not yet in the buffer is always admitted. Default null: no cap (the paper).
   */
  readonly maxProgramShare?: number | null;
}

/** A buffered task with the step it was added in and a buffer-unique id. */
interface BufferEntry<T extends Task = Task> {
  readonly id: number;
  readonly step: number;
  readonly task: T;
}

/** Everything a buffer is, as JSON: `TaskBuffer.restore(snapshot)` rebuilds it exactly. */
export interface BufferSnapshot<T extends Task = Task> {
  readonly version: 1;
  readonly options: Required<BufferOptions>;
  readonly nextId: number;
  readonly entries: readonly BufferEntry<T>[];
}

/** Options for drawing a step's solver tasks. */
interface SolverDrawOptions {
  /** The current training step t. */
  readonly step: number;
  /** Default `maxNew` (paper). */
  readonly mix?: SolverMix;
  /** An entry is recent when t − (its step) ≤ this. Default 1 (the original: the previous step's additions). */
  readonly recentWindow?: number;
}

/** Identity of a task for dedup: its program and input(s). */
export function taskKey(task: Task): string {
  return isInductionTask(task)
    ? JSON.stringify([task.program, task.inputs])
    : JSON.stringify([task.program, task.input]);
}

function resolveOptions(options: BufferOptions): Required<BufferOptions> {
  const cap = options.cap ?? PAPER_DEFAULTS.bufferCap;
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`cap must be an integer ≥ 1, got ${cap}`);
  const eviction = options.eviction ?? 'dropOldest';
  if (eviction !== 'dropOldest' && eviction !== 'keepOldest')
    throw new RangeError(`unknown eviction ${String(eviction)}`);
  const maxProgramShare = options.maxProgramShare ?? null;
  if (maxProgramShare !== null && !(maxProgramShare > 0 && maxProgramShare <= 1))
    throw new RangeError(`maxProgramShare must be in (0, 1] or null, got ${maxProgramShare}`);
  return { cap, eviction, dedup: options.dedup ?? false, maxProgramShare };
}

/** What one {@link TaskBuffer.add} did. */
export interface AddResult {
  readonly added: number;
  /** Skipped: already in the buffer (`dedup`). */
  readonly duplicates: number;
  /** Skipped: the buffer was full (`keepOldest`). */
  readonly dropped: number;
  /** Entries evicted to make room (`dropOldest`). */
  readonly evicted: number;
  /** Skipped: the task's program already held `maxProgramShare` of the buffer. */
  readonly capped: number;
}

function checkCount(name: string, k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`${name} must be an integer ≥ 0, got ${k}`);
}

/** k distinct indices in [0, n) drawn uniformly (k ≤ n). */
function distinctUniform(rng: Rng, n: number, k: number): number[] {
  if (k * 3 <= n) {
    const seen = new Set<number>();
    const out: number[] = [];
    while (out.length < k) {
      const i = rng.int(n);
      if (!seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
    return out;
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}

/**
 * One task type's buffer. Seeds and valid proposals are added with the step they came from; the proposer draws
 * K distinct references from it and the solver draws its batch from it. Never empty once seeded, and always able
 * to fill a batch: it samples with replacement when it holds fewer tasks than asked for.
 */
export class TaskBuffer<T extends Task = Task> {
  readonly options: Required<BufferOptions>;
  private items: BufferEntry<T>[] = [];
  private nextId = 0;
  private keys = new Set<string>();
  /** Entries per program text (for `maxProgramShare`). */
  private programs = new Map<string, number>();

  constructor(options: BufferOptions = {}) {
    this.options = resolveOptions(options);
  }

  get size(): number {
    return this.items.length;
  }

  /** The entries, oldest first. */
  entries(): readonly BufferEntry<T>[] {
    return this.items;
  }

  /** Entries whose program text is `program`. */
  programCount(program: string): number {
    return this.programs.get(program) ?? 0;
  }

  /** Whether `program` already holds `maxProgramShare` of the buffer (always false without the cap). */
  private atProgramShare(program: string): boolean {
    const share = this.options.maxProgramShare;
    if (share === null) return false;
    const c = this.programCount(program);
    return c >= 1 && c >= share * this.items.length;
  }

  private count(program: string, delta: 1 | -1): void {
    const c = (this.programs.get(program) ?? 0) + delta;
    if (c === 0) this.programs.delete(program);
    else this.programs.set(program, c);
  }

  /**
   * Appends tasks made at `step`, in order. Returns how many were added, skipped as duplicates (with `dedup`),
   * skipped at their program's share cap (`maxProgramShare`), dropped at the cap (`keepOldest`) and evicted to
   * make room (`dropOldest`).
   */
  add(tasks: readonly T[], step: number): AddResult {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
    let added = 0;
    let duplicates = 0;
    let dropped = 0;
    let capped = 0;
    for (const task of tasks) {
      const key = this.options.dedup ? taskKey(task) : '';
      if (this.options.dedup && this.keys.has(key)) {
        duplicates++;
        continue;
      }
      if (this.atProgramShare(task.program)) {
        capped++;
        continue;
      }
      if (this.options.eviction === 'keepOldest' && this.items.length >= this.options.cap) {
        dropped++;
        continue;
      }
      this.items.push({ id: this.nextId++, step, task });
      this.count(task.program, 1);
      if (this.options.dedup) this.keys.add(key);
      added++;
    }
    const excess = this.items.length - this.options.cap;
    if (excess > 0) {
      const gone = this.items.splice(0, excess);
      for (const e of gone) this.count(e.task.program, -1);
      if (this.options.dedup) for (const e of gone) this.keys.delete(taskKey(e.task));
    }
    return { added, duplicates, dropped, evicted: Math.max(0, excess), capped };
  }

  /**
   * K reference entries for a proposer prompt, drawn without replacement (all distinct entries): uniformly, or
   * weighted by creation step + 1. A buffer of at most K entries gives all of them, shuffled.
   */
  references(k: number, rng: Rng, weighting: ReferenceWeighting = 'uniform'): BufferEntry<T>[] {
    checkCount('k', k);
    const n = this.items.length;
    if (k >= n) return rng.shuffle(this.items);
    if (weighting === 'uniform') return distinctUniform(rng, n, k).map((i) => this.items[i]!);
    // weighted without replacement: successive draws, each renormalised over what is left
    const weights = this.items.map((e) => e.step + 1);
    let total = weights.reduce((a, w) => a + w, 0);
    const out: BufferEntry<T>[] = [];
    for (let picked = 0; picked < k; picked++) {
      let r = rng.next() * total;
      let i = -1;
      for (let j = 0; j < n; j++) {
        if (weights[j] === 0) continue;
        i = j; // the last positive weight, should rounding run r past the end
        r -= weights[j]!;
        if (r < 0) break;
      }
      out.push(this.items[i]!);
      total -= weights[i]!;
      weights[i] = 0;
    }
    return out;
  }

  /** One entry drawn uniformly. */
  pick(rng: Rng): BufferEntry<T> {
    if (this.items.length === 0) throw new RangeError('cannot draw from an empty buffer');
    return this.items[rng.int(this.items.length)]!;
  }

  /**
   * `count` entries uniformly: distinct while the buffer has enough, then every entry once (shuffled) and the
   * rest drawn with replacement, so a batch is always filled.
   */
  fill(count: number, rng: Rng): BufferEntry<T>[] {
    checkCount('count', count);
    const n = this.items.length;
    if (count === 0) return [];
    if (n === 0) throw new RangeError('cannot draw from an empty buffer');
    if (count <= n) return distinctUniform(rng, n, count).map((i) => this.items[i]!);
    const out = rng.shuffle(this.items);
    while (out.length < count) out.push(this.items[rng.int(n)]!);
    return out;
  }

  /**
   * A step's solver tasks. `maxNew`: up to `count` distinct recent entries (t − step ≤ recentWindow), the rest
   * filled uniformly from the whole buffer (which may repeat a recent pick, as in the original); `halfNew`: at
   * most ⌊count/2⌋ recent; `uniform`: {@link fill}. Call it at the start of step t, before that step's proposals
   * are added, so new tasks are first solved in step t + 1.
   */
  drawSolverTasks(count: number, rng: Rng, options: SolverDrawOptions): BufferEntry<T>[] {
    checkCount('count', count);
    const mix = options.mix ?? 'maxNew';
    const window = options.recentWindow ?? PAPER_DEFAULTS.recentWindow;
    if (this.items.length === 0 && count > 0) throw new RangeError('cannot draw from an empty buffer');
    if (mix === 'uniform') return this.fill(count, rng);
    if (mix !== 'maxNew' && mix !== 'halfNew') throw new RangeError(`unknown mix ${String(mix)}`);
    const recent = this.items.filter((e) => options.step - e.step <= window);
    const quota = Math.min(mix === 'maxNew' ? count : Math.floor(count / 2), recent.length);
    const picks = distinctUniform(rng, recent.length, quota).map((i) => recent[i]!);
    return picks.concat(this.fill(count - quota, rng));
  }

  /** The buffer as JSON-ready data (deep-copied through JSON, so later changes do not leak into it). */
  snapshot(): BufferSnapshot<T> {
    return JSON.parse(
      JSON.stringify({ version: 1, options: this.options, nextId: this.nextId, entries: this.items }),
    ) as BufferSnapshot<T>;
  }

  /** Rebuilds a buffer from {@link snapshot}, exactly: same options, entries, ids and order. */
  static restore<T extends Task = Task>(snapshot: BufferSnapshot<T>): TaskBuffer<T> {
    if (snapshot?.version !== 1 || !Array.isArray(snapshot.entries))
      throw new RangeError('not a version-1 buffer snapshot');
    const b = new TaskBuffer<T>(snapshot.options);
    let lastId = -1;
    for (const e of snapshot.entries) {
      if (
        !Number.isInteger(e.id) ||
        e.id <= lastId ||
        !Number.isInteger(e.step) ||
        e.step < 0 ||
        typeof e.task !== 'object'
      )
        throw new RangeError(`bad snapshot entry ${JSON.stringify(e).slice(0, 80)}`);
      lastId = e.id;
    }
    if (!Number.isInteger(snapshot.nextId) || snapshot.nextId <= lastId) throw new RangeError('bad snapshot nextId');
    b.items = JSON.parse(JSON.stringify(snapshot.entries)) as BufferEntry<T>[];
    b.nextId = snapshot.nextId;
    for (const e of b.items) b.count(e.task.program, 1);
    if (b.options.dedup) for (const e of b.items) b.keys.add(taskKey(e.task));
    return b;
  }
}
