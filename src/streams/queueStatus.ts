// The state every bounded queue reports (depth, capacity, credit, stall), and its `queue.depth` event body.
import { eventBody } from './events.js';
import type { RunEventBodyOf } from './events.js';

/** A snapshot of one queue between actors. */
export interface QueueStatus {
  /** Queue name, as in the `queue.depth` event. */
  queue: string;
  /** Items held now; never above `capacity`. */
  depth: number;
  capacity: number;
  /** Credit granted by the consumer and not yet used; null for a queue that has no credit. */
  credit: number | null;
  /** Total time producers have waited for room since the queue was created. */
  stallMs: number;
  /** Producers waiting for room now. */
  waiting: number;
}

/**
 * The `queue.depth` event body for a status, so that backpressure is visible in the run's events.
 * @example
 * bus.emit(queueDepthBody(channel.status()));
 */
export function queueDepthBody(status: QueueStatus): RunEventBodyOf<'queue.depth'> {
  return eventBody('queue.depth', {
    queue: status.queue,
    depth: status.depth,
    capacity: status.capacity,
    credit: status.credit,
    stallMs: status.stallMs,
    waiting: status.waiting,
  });
}
