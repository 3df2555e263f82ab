import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/streams/bus.js';
import {
  EventLog,
  EventLogCorruptError,
  lastLoggedEvent,
  readEventLog,
  readEventLogEntries,
} from '../../src/streams/eventLog.js';
import { eventBody } from '../../src/streams/events.js';
import type { RunEvent } from '../../src/streams/events.js';
import { sampleBodies } from './fixtures/sampleBodies.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azr-eventlog-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Events of `steps` steps, `perStep` each, through a real bus (so they are valid and stamped). */
function scriptedEvents(
  steps: number,
  perStep: number,
  options: { programBytes?: number; nextSeq?: number; firstStep?: number } = {},
): RunEvent[] {
  const bus = new EventBus({
    runId: 'run-1',
    clock: () => 0,
    nextSeq: options.nextSeq ?? 0,
    step: options.firstStep ?? 0,
  });
  const events: RunEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  for (let s = 0; s < steps; s++) {
    bus.setStep((options.firstStep ?? 0) + s);
    for (let i = 0; i < perStep; i++)
      bus.emit({
        ...sampleBodies['proposal.validated'],
        rolloutId: `p${s}-${i}`,
        program: 'x'.repeat(options.programBytes ?? 40) + `ü${i}`,
      });
  }
  return events;
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n');
const readAll = async (path: string, fromSeq?: number) => {
  const out: RunEvent[] = [];
  for await (const e of readEventLog(path, fromSeq === undefined ? {} : { fromSeq })) out.push(e);
  return out;
};

describe('EventLog', () => {
  it('writes one JSON line per event, in order, ending with a newline', () => {
    const path = join(dir, 'events.jsonl');
    const events = scriptedEvents(3, 4);
    const log = EventLog.create(path);
    for (const e of events) log.append(e);
    log.close();

    const written = lines(path);
    expect(written.pop()).toBe('');
    expect(written.map((l) => JSON.parse(l) as unknown)).toEqual(events);
  });

  it('holds lines in its bounded buffer until it is full, a boundary event arrives, or flush', () => {
    const path = join(dir, 'events.jsonl');
    const events = scriptedEvents(1, 3); // three ~300-byte lines
    const log = EventLog.create(path, { bufferBytes: 700 });
    log.append(events[0]!);
    log.append(events[1]!);
    expect(readFileSync(path, 'utf8')).toBe(''); // a kill -9 now would lose these two, no more
    log.append(events[2]!); // does not fit: the first two are written, whole
    expect(
      lines(path)
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as RunEvent).seq),
    ).toEqual([0, 1]);
    log.flush();
    expect(lines(path)).toHaveLength(4);
    log.close();
  });

  it('writes through at once on run and step boundaries, and on each base-model build progress', () => {
    const path = join(dir, 'events.jsonl');
    const bus = new EventBus({ runId: 'r', clock: () => 0 });
    const log = EventLog.create(path, { bufferBytes: 1 << 20 });
    bus.events$.subscribe((e) => log.append(e));
    bus.emit(sampleBodies['base.progress']);
    expect(lines(path)).toHaveLength(2);
    bus.emit(sampleBodies['rollout.scored']);
    expect(lines(path)).toHaveLength(2);
    bus.emit(sampleBodies['step.finished']);
    expect(lines(path)).toHaveLength(4);
    log.close();
  });

  it('writes an event larger than its buffer as a whole line', () => {
    const path = join(dir, 'events.jsonl');
    const events = scriptedEvents(1, 3, { programBytes: 5000 });
    const log = EventLog.create(path, { bufferBytes: 1024 });
    for (const e of events) log.append(e);
    log.close();
    expect(
      lines(path)
        .slice(0, -1)
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual(events);
  });

  it('refuses a seq that does not continue the log, and a step that goes back', () => {
    const log = EventLog.create(join(dir, 'events.jsonl'));
    const [first, second, third] = scriptedEvents(3, 1);
    log.append(first!);
    expect(() => log.append(third!)).toThrow(/expected seq 1, got 2/);
    expect(() => log.append(first!)).toThrow(/expected seq 1, got 0/);
    log.append(second!);
    expect(() => log.append({ ...third!, step: 0 })).toThrow(/step went back/);
    log.close();
    expect(() => log.append(third!)).toThrow(/closed/);
  });

  it('never overwrites an existing log', () => {
    const path = join(dir, 'events.jsonl');
    writeFileSync(path, '');
    expect(() => EventLog.create(path)).toThrow(/EEXIST/);
  });

  describe('openForResume', () => {
    it('drops a partial last line and continues at the next seq', () => {
      const path = join(dir, 'events.jsonl');
      const events = scriptedEvents(2, 3);
      const log = EventLog.create(path);
      for (const e of events) log.append(e);
      log.close();
      const partial = '{"v":1,"runId":"run-1","seq":6,"t":0,"st';
      appendFileSync(path, partial); // a write cut by a crash

      const resumed = EventLog.openForResume(path);

      expect(resumed.last).toEqual(events[5]);
      expect(resumed.droppedBytes).toBe(partial.length);
      expect(resumed.log.nextSeq).toBe(6);
      const more = scriptedEvents(1, 2, { nextSeq: 6, firstStep: 2 });
      for (const e of more) resumed.log.append(e);
      resumed.log.close();
      expect(
        lines(path)
          .slice(0, -1)
          .map((l) => JSON.parse(l) as unknown),
      ).toEqual([...events, ...more]);
    });

    it('finds nothing in an empty log or one holding only a partial line', () => {
      const path = join(dir, 'events.jsonl');
      writeFileSync(path, '{"v":1,"ru');
      const resumed = EventLog.openForResume(path);
      expect(resumed.last).toBeNull();
      expect(resumed.log.nextSeq).toBe(0);
      resumed.log.close();
      expect(readFileSync(path, 'utf8')).toBe('');
    });

    it('reports a corrupt complete last line instead of guessing', () => {
      const path = join(dir, 'events.jsonl');
      writeFileSync(path, '{"v":1}\n');
      expect(() => EventLog.openForResume(path)).toThrow(EventLogCorruptError);
    });

    it('recovers the last complete event wherever a crash cut the file', () => {
      const path = join(dir, 'events.jsonl');
      const events = scriptedEvents(3, 5);
      const full = events.map((e) => JSON.stringify(e) + '\n').join('');
      fc.assert(
        fc.property(fc.integer({ min: 0, max: Buffer.byteLength(full) }), (cut) => {
          writeFileSync(path, Buffer.from(full).subarray(0, cut));
          const complete = Buffer.from(full).subarray(0, cut).toString('utf8').split('\n').length - 1;
          const resumed = EventLog.openForResume(path);
          resumed.log.close();
          expect(resumed.last).toEqual(complete === 0 ? null : events[complete - 1]);
          expect(readFileSync(path, 'utf8')).toBe(
            events
              .slice(0, complete)
              .map((e) => JSON.stringify(e) + '\n')
              .join(''),
          );
        }),
        { numRuns: 60 },
      );
    });
  });

  describe('truncateFromSeq', () => {
    it('drops the events from a seq on (a seeding checkpoint: all step 0) and continues gap-free', () => {
      const path = join(dir, 'events.jsonl');
      const events = scriptedEvents(1, 6); // all step 0, seqs 0..5
      const log = EventLog.create(path);
      for (const e of events) log.append(e);
      log.close();

      const { log: resumed } = EventLog.openForResume(path);
      expect(resumed.truncateFromSeq(4)).toEqual(events[3]);
      expect(resumed.nextSeq).toBe(4);
      const rerun = scriptedEvents(1, 2, { nextSeq: 4 });
      for (const e of rerun) resumed.append(e);
      expect(resumed.truncateFromSeq(0)).toBeNull();
      resumed.close();
      expect(readFileSync(path, 'utf8')).toBe('');
    });
  });

  describe('truncateAfterStep', () => {
    it('drops the events of steps a checkpoint does not cover, so no step is recorded twice', () => {
      const path = join(dir, 'events.jsonl');
      const events = scriptedEvents(4, 3); // steps 0..3, seqs 0..11
      const log = EventLog.create(path);
      for (const e of events) log.append(e);
      log.close();

      const { log: resumed } = EventLog.openForResume(path);
      const last = resumed.truncateAfterStep(1);
      const rerun = scriptedEvents(2, 3, { nextSeq: resumed.nextSeq, firstStep: 2 });
      for (const e of rerun) resumed.append(e);
      resumed.close();

      expect(last).toEqual(events[5]);
      const written = lines(path)
        .slice(0, -1)
        .map((l) => JSON.parse(l) as RunEvent);
      expect(written.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(written.map((e) => e.step)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
      expect(written.slice(6)).toEqual(rerun);
    });

    it('keeps everything when the last step is covered, and empties the log when none is', () => {
      const path = join(dir, 'events.jsonl');
      const events = scriptedEvents(2, 2, { firstStep: 3 });
      const log = EventLog.create(path);
      for (const e of events) log.append(e);
      expect(log.truncateAfterStep(4)).toEqual(events[3]);
      expect(lines(path)).toHaveLength(5);
      expect(log.truncateAfterStep(2)).toBeNull();
      expect(log.nextSeq).toBe(0);
      log.close();
      expect(readFileSync(path, 'utf8')).toBe('');
    });

    it('walks back correctly when a read chunk starts exactly on a newline', () => {
      // Regression guard for the 64 KiB backward reads: last lines of about 64 KiB put a newline on a chunk edge.
      for (let lastLineBytes = 65_530; lastLineBytes <= 65_540; lastLineBytes++) {
        const path = join(dir, `edge-${lastLineBytes}.jsonl`);
        const bus = new EventBus({ runId: 'run-1', clock: () => 0 });
        const events: RunEvent[] = [];
        bus.events$.subscribe((e) => events.push(e));
        bus.emit(eventBody('actor.state', { actor: 'a', state: 'first' }));
        bus.emit(eventBody('actor.state', { actor: 'a', state: 'second' }));
        bus.setStep(1);
        const bare = JSON.stringify({ ...events[1]!, seq: 2, step: 1, state: '' }).length + 1;
        bus.emit(eventBody('actor.state', { actor: 'a', state: 's'.repeat(lastLineBytes - bare) }));
        const log = EventLog.create(path);
        for (const e of events) log.append(e);
        log.close();
        expect(Buffer.byteLength(JSON.stringify(events[2]) + '\n')).toBe(lastLineBytes);

        const { log: resumed } = EventLog.openForResume(path);
        expect(resumed.truncateAfterStep(0)).toEqual(events[1]);
        resumed.close();
      }
    });

    it('walks back across read chunks and lines longer than a chunk', () => {
      const path = join(dir, 'events.jsonl');
      const events = [
        ...scriptedEvents(3, 200, { programBytes: 300 }),
        ...scriptedEvents(1, 2, { programBytes: 150_000, nextSeq: 600, firstStep: 3 }),
      ];
      const log = EventLog.create(path);
      for (const e of events) log.append(e);
      log.close();
      const { log: resumed, last } = EventLog.openForResume(path);
      expect(last).toEqual(events[601]);
      expect(resumed.truncateAfterStep(1)).toEqual(events[399]);
      resumed.close();
      expect(lines(path)).toHaveLength(401);
    });
  });

  it('survives kill -9 of a process writing it: whole lines, gap-free seq, resumable', async () => {
    const path = join(dir, 'events.jsonl');
    const writer = fileURLToPath(new URL('./fixtures/logWriter.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const { log, last } = EventLog.openForResume(path);
    log.close();
    const events = await readAll(path);
    expect(events.length).toBeGreaterThan(2000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i));
    expect(last).toEqual(events.at(-1));
  });
});

describe('readEventLog', () => {
  it('streams every event, or those from a seq on', async () => {
    const path = join(dir, 'events.jsonl');
    const events = scriptedEvents(3, 10);
    const log = EventLog.create(path);
    for (const e of events) log.append(e);
    log.close();

    expect(await readAll(path)).toEqual(events);
    expect(await readAll(path, 17)).toEqual(events.slice(17));
    expect(await readAll(path, 30)).toEqual([]);
  });

  it('gives each event with its line as written (what the feed sends), and the last event read from the end', async () => {
    const path = join(dir, 'events.jsonl');
    const events = scriptedEvents(2, 5);
    // lines whose key order and spacing differ from JSON.stringify of the parsed event: the text is the file's
    const written = events.map((e) => JSON.stringify(e, null, e.seq % 2 === 0 ? 0 : 1).replace(/\n/g, ''));
    writeFileSync(path, written.map((l) => l + '\n').join('') + '{"v":1,"runId":"run-1","seq":10');
    const entries: { seq: number; text: string }[] = [];
    for await (const e of readEventLogEntries(path, { fromSeq: 3 })) entries.push({ seq: e.event.seq, text: e.text });
    expect(entries).toEqual(written.slice(3).map((text, i) => ({ seq: 3 + i, text })));
    expect(lastLoggedEvent(path)).toEqual(events.at(-1)); // the partial line after it ignored
    writeFileSync(path, '{"v":1,"runId":"run-1"');
    expect(lastLoggedEvent(path)).toBeNull();
  });

  it('does not yield a partial last line (a live log mid-write)', async () => {
    const path = join(dir, 'events.jsonl');
    const events = scriptedEvents(1, 3);
    writeFileSync(path, events.map((e) => JSON.stringify(e) + '\n').join('') + '{"v":1,"runId":"run-1","seq":3');
    expect(await readAll(path)).toEqual(events);
    expect(await readAll(path, 2)).toEqual(events.slice(2));
  });

  it('finds the starting seq by bisection whatever the line lengths', async () => {
    const path = join(dir, 'events.jsonl');
    const bus = new EventBus({ runId: 'run-1', clock: () => 0 });
    const events: RunEvent[] = [];
    bus.events$.subscribe((e) => events.push(e));
    const sizes = [10, 70_000, 5, 300, 140_000, 1, 2, 90_000, 4, 3];
    for (const [i, size] of sizes.entries())
      bus.emit(eventBody('actor.state', { actor: `a${i}`, state: 's'.repeat(size) }));
    const log = EventLog.create(path);
    for (const e of events) log.append(e);
    log.close();

    for (let fromSeq = 0; fromSeq <= sizes.length + 1; fromSeq++)
      expect(await readAll(path, fromSeq)).toEqual(events.slice(fromSeq));
  });

  it('reports a corrupt line with its byte offset', async () => {
    const path = join(dir, 'events.jsonl');
    const [first] = scriptedEvents(1, 1);
    const line = JSON.stringify(first) + '\n';
    writeFileSync(path, line + 'not json\n');
    await expect(readAll(path)).rejects.toThrow(new RegExp(`byte ${Buffer.byteLength(line)}`));
  });
});
