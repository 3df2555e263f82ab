// actorStateInspector: XState inspection → one `actor.state` run event each time an actor's state changes.

import type { AnyActorRef, InspectionEvent, StateValue } from 'xstate';
import { eventBody } from '../streams/events.js';
import type { EventSink } from './coordinatorMachine.js';

/** `{ training: { step: 'learn' } }` → `training.step.learn` (parallel regions joined by `,`). */
function stateString(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([k, v]) =>
      v === undefined || (typeof v === 'object' && Object.keys(v).length === 0) ? k : `${k}.${stateString(v)}`,
    )
    .join(',');
}

/**
 * An `inspect` option for `createActor` that emits `actor.state` (actor = the actor's id; the root is `rootName`)
 * for every state change of every machine actor in the system. Promise and callback actors have no states.
 */
export function actorStateInspector(sink: EventSink, rootName = 'coordinator'): (e: InspectionEvent) => void {
  const last = new Map<string, string>();
  return (e) => {
    if (e.type !== '@xstate.snapshot') return;
    const snapshot = e.snapshot as { value?: StateValue; status?: string };
    if (snapshot.value === undefined) return;
    const ref = e.actorRef as AnyActorRef;
    const actor = ref.sessionId === e.rootId ? rootName : ref.id;
    const state = stateString(snapshot.value);
    if (last.get(actor) === state) return;
    last.set(actor, state);
    sink.emit(eventBody('actor.state', { actor, state }));
  };
}
