// The event bus: stamps the envelope on event bodies, validates them, and fans them out in seq order.
import { Observable, Subject } from 'rxjs';
import { EVENT_SCHEMA_VERSION, parseRunEvent } from './events.js';
import type { RunEvent, RunEventBody, RunEventOf, RunEventType } from './events.js';

interface EventBusOptions {
  /** Written into every event's `runId`. */
  runId: string;
  /** Milliseconds from any origin (monotonic); `t` is measured from its value when the bus is created. */
  clock: () => number;
  /** `seq` of the first event; on resume, the last logged seq + 1. */
  nextSeq?: number;
  /** Step stamped on events until {@link EventBus.setStep}; on resume, the step being re-run. */
  step?: number;
  /** Added to `t`, so a resumed run's `t` continues from the last logged event instead of restarting at 0. */
  tOffset?: number;
}

/**
 * The one place run events are created. Producers call `emit(body)`; the bus adds `v`, `runId`, the next `seq`,
 * `t` and the current `step`, validates the result with zod (an invalid body throws {@link InvalidRunEventError}
 * and consumes no seq), and delivers it to every subscriber of `events$`.
 *
 * Ordering: JavaScript runs one emit at a time, so seqs are gap-free by construction; the one hazard is a
 * subscriber that emits while an event is being delivered, which with a bare Subject would reach later
 * subscribers before the event that caused it. Such emits are stamped at once but queued, so every subscriber
 * sees events in seq order.
 *
 * @example
 * const bus = new EventBus({ runId: 'tiny-1', clock: () => performance.now() });
 * bus.events$.subscribe((e) => log.append(e));
 * bus.setStep(1);
 * bus.emit(eventBody('buffer.sizes', { sizes: { deduction: 3, abduction: 3, induction: 1 } }));
 */
export class EventBus {
  readonly events$: Observable<RunEvent>;
  private readonly subject = new Subject<RunEvent>();
  private readonly runId: string;
  private readonly clock: () => number;
  private readonly origin: number;
  private readonly tOffset: number;
  private seq: number;
  private currentStep: number;
  private readonly pending: RunEvent[] = [];
  private delivering = false;
  private completed = false;

  constructor(options: EventBusOptions) {
    const nextSeq = options.nextSeq ?? 0;
    const step = options.step ?? 0;
    if (!Number.isSafeInteger(nextSeq) || nextSeq < 0)
      throw new RangeError(`nextSeq must be an integer ≥ 0, got ${nextSeq}`);
    if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`step must be an integer ≥ 0, got ${step}`);
    this.runId = options.runId;
    this.clock = options.clock;
    this.origin = options.clock();
    this.tOffset = options.tOffset ?? 0;
    this.seq = nextSeq;
    this.currentStep = step;
    this.events$ = this.subject.asObservable();
  }

  /** The seq the next event will get. */
  get nextSeq(): number {
    return this.seq;
  }

  get step(): number {
    return this.currentStep;
  }

  /** Moves to a later step; steps never go back, so no step's events interleave with an earlier one's. */
  setStep(step: number): void {
    if (!Number.isSafeInteger(step) || step < this.currentStep)
      throw new RangeError(`step must be an integer ≥ the current step ${this.currentStep}, got ${step}`);
    this.currentStep = step;
  }

  /** Stamps, validates and publishes one event; returns it as subscribers see it. */
  emit<B extends RunEventBody>(body: B): RunEventOf<B['type'] & RunEventType> {
    if (this.completed) throw new Error(`event bus of run ${this.runId} is complete; cannot emit ${body.type}`);
    // Envelope first, so the serialized line starts with v, runId, seq (readers skip ahead on that).
    const candidate = {
      v: EVENT_SCHEMA_VERSION,
      runId: this.runId,
      seq: this.seq,
      t: Math.max(0, Math.round(this.tOffset + this.clock() - this.origin)),
      step: this.currentStep,
      ...body,
    };
    // Validate before taking the seq: a rejected body leaves no hole in the sequence.
    const event = parseRunEvent(candidate, `invalid ${body.type} event emitted on run ${this.runId}`);
    this.seq += 1;
    this.pending.push(event);
    this.deliver();
    return event as RunEventOf<B['type'] & RunEventType>;
  }

  /** Ends the stream for all subscribers (after any queued events). */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    if (!this.delivering) this.subject.complete();
  }

  private deliver(): void {
    if (this.delivering) return; // the outer delivery loop will pick it up, in order
    this.delivering = true;
    try {
      for (let event = this.pending.shift(); event !== undefined; event = this.pending.shift())
        this.subject.next(event);
    } finally {
      this.delivering = false;
    }
    if (this.completed) this.subject.complete();
  }
}
