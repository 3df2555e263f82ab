// The slots of a sweep (OUT/<variant>/seed-<s>/): which run directory each holds and how far that run got.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** The run directory of a slot (the newest, should there be several). */
export function slotRunDir(slot: string): string | null {
  if (!existsSync(slot)) return null;
  const dirs = readdirSync(slot)
    .filter((n) => !n.startsWith('.') && statSync(path.join(slot, n)).isDirectory())
    .sort();
  return dirs.length === 0 ? null : path.join(slot, dirs[dirs.length - 1]!);
}

/** Whether events.jsonl's last complete line is run.finished with reason completed. */
export function finishedCompleted(runDir: string): boolean {
  const file = path.join(runDir, 'events.jsonl');
  if (!existsSync(file)) return false;
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i] === '') continue;
    try {
      const e = JSON.parse(lines[i]!) as { type?: string; reason?: string };
      return e.type === 'run.finished' && e.reason === 'completed';
    } catch {
      return false; // a partial last line: the run did not finish
    }
  }
  return false;
}

export type SlotState = { kind: 'done'; runDir: string } | { kind: 'resume'; runDir: string } | { kind: 'fresh' };

export function slotState(slot: string): SlotState {
  const runDir = slotRunDir(slot);
  if (
    runDir === null ||
    !existsSync(path.join(runDir, 'events.jsonl')) ||
    !existsSync(path.join(runDir, 'scenario.yaml'))
  )
    return { kind: 'fresh' };
  return finishedCompleted(runDir) ? { kind: 'done', runDir } : { kind: 'resume', runDir };
}
