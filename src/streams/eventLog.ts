// events.jsonl: the append-only run log (whole lines, bounded buffer), its resume rules, and a reader that replays from a seq.
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { parseRunEvent } from './events.js';
import type { RunEvent, RunEventType } from './events.js';

const NEWLINE = 0x0a;
const READ_CHUNK = 64 * 1024;

interface EventLogOptions {
  /** Bytes held in memory before they are written; bounds both memory and what a kill -9 can lose. Default 64 KiB. */
  bufferBytes?: number;
  /** Event types written through at once (with everything before them). Default: run and step boundaries. */
  flushOn?: readonly RunEventType[];
  /** Also fsync on every flush, so flushed lines survive power loss and not only process death. Default false. */
  fsync?: boolean;
}

/** What {@link EventLog.openForResume} found. */
interface ResumedEventLog {
  log: EventLog;
  /** The last complete event, or null when the log held none. The run continues at `last.seq + 1`. */
  last: RunEvent | null;
  /** Bytes of a trailing partial line that were cut off (a write interrupted by a crash). */
  droppedBytes: number;
}

/** A line of events.jsonl that is complete but not a valid event: the log cannot be trusted past it. */
export class EventLogCorruptError extends Error {
  override readonly name = 'EventLogCorruptError';
}

// base.progress too: the base-model build logs one every ~2% of its steps, and a reader of the file should see it go on
const DEFAULT_FLUSH_ON: readonly RunEventType[] = [
  'base.progress',
  'run.started',
  'step.finished',
  'checkpoint.saved',
  'run.finished',
];

/**
 * The writer of `events.jsonl`: one JSON line per event, in seq order, written only as whole lines.
 *
 * Durability. Lines collect in a fixed buffer (`bufferBytes`) and reach the file with `fs.writeSync` when it
 * fills, when an event of a `flushOn` type is appended, on {@link flush} and on {@link close}. A line handed to the
 * kernel survives the death of the process (kill -9), but not a power loss unless `fsync` is set; lines still in
 * the buffer are lost with the process, so the run must call `flush()` *before* it writes a checkpoint — then
 * everything up to the checkpoint is on disk, and resuming with {@link truncateAfterStep} drops exactly the
 * events of steps the checkpoint does not cover. Synchronous writes keep ordering trivial and bound memory
 * without a backpressure protocol; each costs one syscall per `bufferBytes` of events.
 *
 * Crash safety. Every write is a run of whole lines, so a crash leaves at most one partial last line (from a
 * write the kernel did not finish); {@link openForResume} cuts it off.
 *
 * @example
 * const log = EventLog.create(join(runDir, 'events.jsonl'));
 * bus.events$.subscribe((e) => log.append(e));
 * // … end of step: log.flush(); saveCheckpoint(); …
 * log.close();
 */
export class EventLog {
  private readonly buffer: Buffer;
  private used = 0;
  private position: number;
  private readonly flushOn: ReadonlySet<RunEventType>;
  private readonly fsync: boolean;
  private fd: number | null;
  private lastEvent: RunEvent | null;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
    last: RunEvent | null,
    options: EventLogOptions,
  ) {
    const bufferBytes = options.bufferBytes ?? 64 * 1024;
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes < 1)
      throw new RangeError(`bufferBytes must be ≥ 1, got ${bufferBytes}`);
    this.buffer = Buffer.allocUnsafe(bufferBytes);
    this.flushOn = new Set(options.flushOn ?? DEFAULT_FLUSH_ON);
    this.fsync = options.fsync ?? false;
    this.fd = fd;
    this.position = size;
    this.lastEvent = last;
  }

  /** Starts a new log; refuses to overwrite an existing file (a run directory is never reused by accident). */
  static create(path: string, options: EventLogOptions = {}): EventLog {
    return new EventLog(path, openSync(path, 'wx+'), 0, null, options);
  }

  /**
   * Opens an existing log to continue it: cuts off a trailing partial line and returns the last complete event.
   * Call {@link truncateAfterStep} next with the last checkpointed step, then start the bus at `nextSeq`.
   */
  static openForResume(path: string, options: EventLogOptions = {}): ResumedEventLog {
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      const end = lastNewline(fd, size) + 1; // 0 when there is no complete line
      if (end < size) ftruncateSync(fd, end);
      const last = lastEventBefore(fd, end, path);
      return { log: new EventLog(path, fd, end, last, options), last, droppedBytes: size - end };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The last event in the log (written or buffered), or null. */
  get last(): RunEvent | null {
    return this.lastEvent;
  }

  /** The seq the next appended event must carry. */
  get nextSeq(): number {
    return this.lastEvent === null ? 0 : this.lastEvent.seq + 1;
  }

  /** Appends one event; it must continue the log (seq = last + 1, step not earlier), so holes and repeats fail loudly. */
  append(event: RunEvent): void {
    const fd = this.open();
    if (event.seq !== this.nextSeq)
      throw new RangeError(`${this.path}: expected seq ${this.nextSeq}, got ${event.seq} (${event.type})`);
    if (this.lastEvent !== null && event.step < this.lastEvent.step)
      throw new RangeError(
        `${this.path}: step went back from ${this.lastEvent.step} to ${event.step} at seq ${event.seq}`,
      );
    const line = JSON.stringify(event) + '\n';
    const bytes = Buffer.byteLength(line);
    if (this.used + bytes > this.buffer.length) this.writeBuffer(fd);
    if (bytes > this.buffer.length) {
      this.writeAll(fd, Buffer.from(line));
    } else {
      this.buffer.write(line, this.used);
      this.used += bytes;
    }
    this.lastEvent = event;
    if (this.flushOn.has(event.type)) this.flush();
  }

  /** Writes buffered lines to the file (and fsyncs when configured). */
  flush(): void {
    const fd = this.open();
    this.writeBuffer(fd);
    if (this.fsync) fsyncSync(fd);
  }

  /**
   * Drops every event after the last one of `step` (steps a checkpoint does not cover) and returns the new last
   * event; the run then continues at its seq + 1 with step `step + 1`. Events are in step order, so this cuts a tail.
   */
  truncateAfterStep(step: number): RunEvent | null {
    return this.truncateTail((event) => event.step <= step);
  }

  /**
   * Drops every event with seq ≥ `seq` (a checkpoint taken during seeding, where every event is step 0, says
   * where its rounds' events end) and returns the new last event; the run then continues at `seq`.
   */
  truncateFromSeq(seq: number): RunEvent | null {
    return this.truncateTail((event) => event.seq < seq);
  }

  /** Cuts the events after the last one that `keep` accepts (read backwards from the end); returns that event. */
  private truncateTail(keep: (event: RunEvent) => boolean): RunEvent | null {
    const fd = this.open();
    this.flush();
    let end = this.position;
    let last: RunEvent | null = null;
    for (const line of linesBackward(fd, this.position)) {
      const event = parseLine(line.text, this.path, line.start);
      if (keep(event)) {
        last = event;
        break;
      }
      end = line.start;
    }
    if (end < this.position) {
      ftruncateSync(fd, end);
      if (this.fsync) fsyncSync(fd);
      this.position = end;
    }
    this.lastEvent = last;
    return last;
  }

  /** Flushes and closes the file; later appends throw. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private open(): number {
    if (this.fd === null) throw new Error(`${this.path}: event log is closed`);
    return this.fd;
  }

  private writeBuffer(fd: number): void {
    if (this.used === 0) return;
    const used = this.used;
    this.used = 0; // even if the write throws, never write these bytes twice
    this.writeAll(fd, this.buffer.subarray(0, used));
  }

  private writeAll(fd: number, data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      const n = writeSync(fd, data, done, data.length - done, this.position);
      done += n;
      this.position += n;
    }
  }
}

interface ReadEventLogOptions {
  /** First seq to yield; earlier lines are skipped by a binary search over byte offsets, not read. Default 0. */
  fromSeq?: number;
}

/**
 * Streams the events of an `events.jsonl` file in order, starting at `fromSeq`, validating each one. A trailing
 * partial line (a crash, or a write in progress in a live log) is not yielded. Use `from(readEventLog(path))`
 * for an Observable.
 *
 * @example
 * for await (const event of readEventLog('runs/tiny-1/events.jsonl', { fromSeq: 120 })) send(event);
 */
export async function* readEventLog(path: string, options: ReadEventLogOptions = {}): AsyncGenerator<RunEvent> {
  for await (const entry of readEventLogEntries(path, options)) yield entry.event;
}

/** One logged event with its line (without the newline): the exact text a feed sends for it. */
export interface LoggedEvent {
  readonly event: RunEvent;
  readonly text: string;
}

/** {@link readEventLog}, each event with its line's text. */
export async function* readEventLogEntries(
  path: string,
  options: ReadEventLogOptions = {},
): AsyncGenerator<LoggedEvent> {
  const fromSeq = options.fromSeq ?? 0;
  const fd = openSync(path, 'r');
  let start: number;
  try {
    start = fromSeq > 0 ? firstLineWithSeqAtLeast(fd, fstatSync(fd).size, fromSeq, path) : 0;
  } finally {
    closeSync(fd);
  }
  let offset = start;
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { start }) as AsyncIterable<Buffer>) {
    let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE)) {
      const text = data.toString('utf8', 0, nl);
      const event = parseLine(text, path, offset);
      offset += nl + 1;
      data = data.subarray(nl + 1);
      if (event.seq >= fromSeq) yield { event, text };
    }
    rest = data;
  }
}

/** The last complete event of an `events.jsonl` file (a trailing partial line is ignored), read from the end; null when none. */
export function lastLoggedEvent(path: string): RunEvent | null {
  const fd = openSync(path, 'r');
  try {
    return lastEventBefore(fd, lastNewline(fd, fstatSync(fd).size) + 1, path);
  } finally {
    closeSync(fd);
  }
}

/** The event on the last complete line ending before `end` (which must follow a '\n', or be 0); null when none. */
function lastEventBefore(fd: number, end: number, path: string): RunEvent | null {
  const line = linesBackward(fd, end).next();
  return line.done ? null : parseLine(line.value.text, path, line.value.start);
}

/** Parses one log line; a bad complete line is corruption, reported with its byte offset. */
function parseLine(text: string, path: string, offset: number): RunEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EventLogCorruptError(`${path}: line at byte ${offset} is not JSON (${(error as Error).message})`);
  }
  try {
    return parseRunEvent(value, `${path}: line at byte ${offset}`);
  } catch (error) {
    throw new EventLogCorruptError((error as Error).message);
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const data = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, data, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return data.subarray(0, done);
}

/** Offset of the last '\n' before `end`, or -1. */
function lastNewline(fd: number, end: number): number {
  for (let to = end; to > 0;) {
    const from = Math.max(0, to - READ_CHUNK);
    const i = readAt(fd, from, to - from).lastIndexOf(NEWLINE);
    if (i >= 0) return from + i;
    to = from;
  }
  return -1;
}

interface Line {
  /** Byte offset of the line's first character. */
  start: number;
  text: string;
}

/** Complete lines ending before `end` (which must follow a '\n', or be 0), last line first. */
function* linesBackward(fd: number, end: number): Generator<Line> {
  let dataStart = end; // `data` holds bytes [dataStart, lineEnd) not yet yielded
  let data: Buffer = Buffer.alloc(0);
  let lineEnd = end; // just after the '\n' of the next line to yield
  while (lineEnd > 0) {
    const ownNewline = lineEnd - 1 - dataStart; // index of that '\n' in data
    const previous = ownNewline > 0 ? data.lastIndexOf(NEWLINE, ownNewline - 1) : -1;
    if (previous >= 0 || dataStart === 0) {
      const start = previous >= 0 ? dataStart + previous + 1 : 0;
      yield { start, text: data.toString('utf8', start - dataStart, ownNewline) };
      lineEnd = start;
      data = data.subarray(0, start - dataStart);
    } else {
      const from = Math.max(0, dataStart - READ_CHUNK);
      data = Buffer.concat([readAt(fd, from, dataStart - from), data]);
      dataStart = from;
    }
  }
}

/** The seq of the first complete line starting at or after `position`, with that line's offset; null at the end. */
function lineAtOrAfter(
  fd: number,
  position: number,
  size: number,
  path: string,
): { start: number; seq: number } | null {
  let start = position;
  if (start > 0 && readAt(fd, start - 1, 1)[0] !== NEWLINE) {
    // Mid-line: the next line starts after the next '\n'.
    let found = -1;
    for (let at = start; found < 0 && at < size; at += READ_CHUNK) {
      const i = readAt(fd, at, Math.min(READ_CHUNK, size - at)).indexOf(NEWLINE);
      if (i >= 0) found = at + i;
    }
    if (found < 0) return null;
    start = found + 1;
  }
  let line = Buffer.alloc(0);
  for (let at = start; at < size; at += READ_CHUNK) {
    const chunk = readAt(fd, at, Math.min(READ_CHUNK, size - at));
    const i = chunk.indexOf(NEWLINE);
    if (i >= 0) {
      line = Buffer.concat([line, chunk.subarray(0, i)]);
      return { start, seq: parseLine(line.toString('utf8'), path, start).seq };
    }
    line = Buffer.concat([line, chunk]);
  }
  return null; // only a partial line remains
}

/** Byte offset of the first line whose seq is ≥ `fromSeq` (seqs increase along the file), or `size`. */
function firstLineWithSeqAtLeast(fd: number, size: number, fromSeq: number, path: string): number {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const line = lineAtOrAfter(fd, mid, size, path);
    if (line === null || line.seq >= fromSeq) hi = mid;
    else lo = mid + 1;
  }
  return lineAtOrAfter(fd, lo, size, path)?.start ?? size;
}
