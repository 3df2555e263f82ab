// The run events the coordinator emits: their bodies, built from replies and context, and the sink they go through.

import type { TaskType } from '../../azr/index.js';
import { eventBody, type RunEventBody } from '../../streams/events.js';
import type { CheckResult, ProbeResult } from '../effects.js';
import type { Validated } from '../executorMachine.js';
import type { Answer, Proposal } from '../protocol.js';
import type { CoordinatorContext } from './context.js';

export function errorBody(
  source: string,
  kind: string,
  message: string,
  extra: { task?: TaskType; rolloutId?: string } = {},
): RunEventBody {
  return eventBody('error', { source, kind, message, ...extra });
}
/** Emits run events through the injected sink. */
export function say(c: CoordinatorContext, ...bodies: RunEventBody[]): void {
  for (const b of bodies) c.events.emit(b);
}

export function policyFailures(items: readonly (Proposal | Answer)[]): RunEventBody[] {
  return items.flatMap((x) =>
    x.completion === null && !x.parsed.ok
      ? [errorBody('policy', 'policyFailed', x.parsed.message, { task: x.type, rolloutId: x.id })]
      : [],
  );
}

export function validationFailures(results: readonly Validated[], type: TaskType): RunEventBody[] {
  return results.flatMap((r) =>
    !r.ok && r.infrastructure
      ? [errorBody('executor', r.error.kind, r.error.message, { task: type, rolloutId: r.id })]
      : [],
  );
}

export function checkFailures(results: readonly CheckResult[], type: TaskType): RunEventBody[] {
  return results.flatMap((r) =>
    r.ok ? [] : [errorBody('executor', r.error.kind, r.error.message, { task: type, rolloutId: r.id })],
  );
}

export function probeBody(c: CoordinatorContext, result: ProbeResult): RunEventBody {
  return eventBody('probe.evaluated', {
    policyVersion: c.policyVersion,
    tasks: result.tasks,
    accuracy: result.accuracy,
    byTier: result.byTier,
    ...(result.traceShare !== undefined ? { traceShare: result.traceShare } : {}),
    ...(result.sampled !== undefined ? { sampled: result.sampled } : {}),
  });
}
