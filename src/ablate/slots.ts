// The slots of a sweep (OUT/<variant>/seed-<s>/): which run directory each holds and how far that run got, and the
// run child's output that fills one.

import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, type WriteStream } from 'node:fs';
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

/** Copies a child `azr run`'s stdout and stderr into `log` and calls `onStep` with each `step N/M` progress line's N. */
export function followRun(child: ChildProcess, log: WriteStream, onStep: (step: number) => void): void {
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => log.write(d));
  child.stderr!.on('data', (d: Buffer) => {
    log.write(d);
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const m = /^step (\d+)\/\d+/.exec(line);
      if (m) onStep(Number(m[1]));
    }
  });
}
