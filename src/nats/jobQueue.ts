// Durable jobs over JetStream: a work-queue stream of jobs pulled by workers through one durable consumer (explicit
// acks, an ack wait, redelivery for ever), and an object store for what the jobs leave behind (files, markers).
//
//   publisher ─ publishJob(subject, msgID) ─→ stream AZR_JOBS (work queue: a job leaves when acked) ─→ consumer
//   azr-workers ─ next() ─→ worker: working() while it runs; ack when done, nak to hand it back, term when it failed
//   files ─→ object store azr-artefacts (name = job id + path)
//
// What survives what: the stream and the store are on the server's disk (file storage), so a restarted server has
// every job not yet acked and every file; a job whose worker died (kill -9, a machine gone) or stopped (SIGSTOP) is
// handed to another worker once its ack wait passes without a `working()`.

import {
  jetstream,
  jetstreamManager,
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

export const JOB_STREAM = 'AZR_JOBS';
export const JOB_SUBJECTS = 'azr.job.>';
export const WORKER_CONSUMER = 'azr-workers';
export const ARTEFACT_BUCKET = 'azr-artefacts';

/** A token of a subject: letters, digits, `_` and `-` only (dots and wildcards would split or widen it). */
export const subjectToken = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

export interface JobQueueOptions {
  /** Without a `working()` for this long a job is handed to another worker (ms; default 30000). */
  readonly ackWaitMs?: number;
}

export interface JobQueue {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly consumer: Consumer;
  readonly store: ObjectStore;
  /** The consumer's ack wait (what a worker's heartbeat must beat). */
  readonly ackWaitMs: number;
}

const nanos = (ms: number) => ms * 1_000_000;

/**
 * Opens the stream, the workers' consumer and the object store, creating what is missing (idempotent: every
 * publisher and worker calls it). `ackWaitMs`, when given, is set on the consumer.
 */
export async function openJobQueue(nc: NatsConnection, o: JobQueueOptions = {}): Promise<JobQueue> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(JOB_STREAM);
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.status !== 404) throw e;
    await jsm.streams.add({
      name: JOB_STREAM,
      subjects: [JOB_SUBJECTS],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    });
  }
  let ackWaitMs: number;
  try {
    const info = await jsm.consumers.info(JOB_STREAM, WORKER_CONSUMER);
    ackWaitMs = info.config.ack_wait! / 1_000_000;
    if (o.ackWaitMs !== undefined && o.ackWaitMs !== ackWaitMs) {
      await jsm.consumers.update(JOB_STREAM, WORKER_CONSUMER, { ack_wait: nanos(o.ackWaitMs) });
      ackWaitMs = o.ackWaitMs;
    }
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.status !== 404) throw e;
    ackWaitMs = o.ackWaitMs ?? 30_000;
    await jsm.consumers.add(JOB_STREAM, {
      durable_name: WORKER_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      max_ack_pending: 1000,
    });
  }
  const js = jetstream(nc);
  const consumer = await js.consumers.get(JOB_STREAM, WORKER_CONSUMER);
  const store = await new Objm(js).create(ARTEFACT_BUCKET, { storage: StorageType.File });
  return { js, jsm, consumer, store, ackWaitMs };
}

/** Whether a job is waiting (or running, unacked) on `subject`. */
export async function jobQueued(q: JobQueue, subject: string): Promise<boolean> {
  try {
    return (await q.jsm.streams.getMessage(JOB_STREAM, { last_by_subj: subject })) !== null;
  } catch (e) {
    if (e instanceof JetStreamApiError && e.status === 404) return false;
    throw e;
  }
}

/**
 * Publishes a job once: nothing when one is already queued on its subject; else published with `msgID`, which the
 * stream drops as a duplicate should two publishers race. Returns whether this call queued it.
 */
export async function publishJob(q: JobQueue, subject: string, msgID: string, body: unknown): Promise<boolean> {
  if (await jobQueued(q, subject)) return false;
  const ack = await q.js.publish(subject, JSON.stringify(body), { msgID });
  return !ack.duplicate;
}

/** Removes the queued (not running) jobs under `subjectFilter`, e.g. when their sweep is stopped. */
export async function purgeJobs(q: JobQueue, subjectFilter: string): Promise<void> {
  await q.jsm.streams.purge(JOB_STREAM, { filter: subjectFilter });
}

// ---- the object store: small helpers that retry while the server restarts -------------------------------------------

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `f` until it succeeds, at most `attempts` times 250 ms apart (a server restart takes about a second). */
export async function retrying<T>(f: () => Promise<T>, attempts = 120): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= attempts) throw e;
      await pause(250);
    }
  }
}

export const putBytes = (q: JobQueue, name: string, data: Uint8Array) =>
  retrying(() => q.store.putBlob({ name }, data));
export const getBytes = (q: JobQueue, name: string) => retrying(() => q.store.getBlob(name));
export const putJson = (q: JobQueue, name: string, value: unknown) =>
  putBytes(q, name, new TextEncoder().encode(JSON.stringify(value)));
export async function getJson<T>(q: JobQueue, name: string): Promise<T | null> {
  const b = await getBytes(q, name);
  return b === null ? null : (JSON.parse(new TextDecoder().decode(b)) as T);
}
/** Whether `name` is stored (a deleted entry keeps its info, marked deleted). */
export async function hasObject(q: JobQueue, name: string): Promise<boolean> {
  const info = await retrying(() => q.store.info(name));
  return info !== null && !info.deleted;
}
export const deleteObject = (q: JobQueue, name: string) => retrying(() => q.store.delete(name));
