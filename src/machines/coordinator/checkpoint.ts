// What a checkpoint holds: the coordinator's context and its actors' persisted snapshots (CheckpointData).

import type { AnyActorRef } from 'xstate';
import type { BufferSnapshots } from '../bufferMachine.js';
import type { CheckpointData } from '../effects.js';
import type { CoordinatorContext } from './context.js';

/** Buffer snapshots without entries newer than the last completed step (a resume re-runs that step from scratch). */
function trimSnapshots(s: BufferSnapshots, completed: number): BufferSnapshots {
  return {
    deduction: { ...s.deduction, entries: s.deduction.entries.filter((e) => e.step <= completed) },
    abduction: { ...s.abduction, entries: s.abduction.entries.filter((e) => e.step <= completed) },
    induction: { ...s.induction, entries: s.induction.entries.filter((e) => e.step <= completed) },
  };
}

export function checkpointData(c: CoordinatorContext, self: AnyActorRef): CheckpointData {
  const children = (self.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
  const actors: Record<string, unknown> = {};
  for (const name of ['proposer', 'solver', 'executor', 'learner'] as const) {
    const child = children[name];
    if (child) actors[name] = child.getPersistedSnapshot();
  }
  // Stopped while seeding: the rounds done so far (not the one in flight, which a resume runs again from its start).
  const seeding = c.seeded
    ? {}
    : {
        seeding: {
          rounds: c.taskType === null ? c.seedRounds : { ...c.seedRounds, [c.taskType]: c.seedRounds[c.taskType] - 1 },
          eventSeq: c.seedMark,
        },
      };
  return {
    version: 1,
    step: c.completed,
    policyVersion: c.policyVersion,
    seeded: c.seeded,
    ...seeding,
    buffers: trimSnapshots(c.bufferSnapshot!, c.completed),
    rng: { root: c.rng.root, actors: c.rng.actors },
    actors,
    recentPrograms: c.recentPrograms,
    ...(c.config.novelty.coef > 0 ? { noveltyHistory: c.noveltyHistory } : {}),
  };
}
