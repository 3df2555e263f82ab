import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ENVELOPE_KEYS,
  InvalidRunEventError,
  RUN_EVENT_TYPES,
  eventBody,
  parseRunEvent,
  runEventJsonSchema,
} from '../../src/streams/events.js';
import type { RunEvent, RunEventBodyOf, RunEventOf } from '../../src/streams/events.js';
import { sampleBodies } from './fixtures/sampleBodies.js';

const envelope = { v: 1, runId: 'tiny-1', seq: 4, t: 120, step: 2 } as const;
const stamped = (body: object): Record<string, unknown> => ({ ...envelope, ...body });

describe('run events', () => {
  it('accepts a stamped body of every event type, unchanged', () => {
    expect(Object.keys(sampleBodies).sort()).toEqual([...RUN_EVENT_TYPES].sort());
    for (const body of Object.values(sampleBodies)) expect(parseRunEvent(stamped(body))).toEqual(stamped(body));
  });

  it('names at least the event types the issue requires', () => {
    for (const type of [
      'rollout.scored',
      'proposal.validated',
      'learner.step',
      'health',
      'buffer.sizes',
      'queue.depth',
      'probe.evaluated',
      'checkpoint.saved',
      'run.started',
      'run.finished',
    ])
      expect(RUN_EVENT_TYPES).toContain(type);
  });

  it('survives a JSON round trip and serializes the envelope first', () => {
    const event = parseRunEvent(stamped(sampleBodies['rollout.scored']));
    const line = JSON.stringify(event);
    expect(line.startsWith('{"v":1,"runId":"tiny-1","seq":4,"t":120,"step":2,"type":"rollout.scored"')).toBe(true);
    expect(parseRunEvent(JSON.parse(line))).toEqual(event);
  });

  it.each([
    ['an unknown type', { ...envelope, type: 'rollout.graded' }],
    ['a missing envelope field', { ...sampleBodies['learner.step'], v: 1, runId: 'r', seq: 0, step: 0 }],
    ['another schema version', stamped({ ...sampleBodies['learner.step'], v: 2 })],
    ['a negative seq', { ...stamped(sampleBodies['learner.step']), seq: -1 }],
    ['a fractional step', { ...stamped(sampleBodies['learner.step']), step: 1.5 }],
    ['an unknown field (typo)', stamped({ ...sampleBodies['learner.step'], gradnorm: 1 })],
    ['a missing field', stamped({ ...sampleBodies['rollout.scored'], tokens: undefined })],
    ['a NaN reward', stamped({ ...sampleBodies['rollout.scored'], reward: Number.NaN })],
    ['an infinite loss', stamped({ ...sampleBodies['learner.step'], loss: Number.POSITIVE_INFINITY })],
    ['an unknown role', stamped({ ...sampleBodies['rollout.scored'], role: 'judge' })],
    ['an unknown task type', stamped({ ...sampleBodies['rollout.scored'], task: 'code_e' })],
    ['a share above 1', stamped({ ...sampleBodies.health, validShare: 1.2 })],
    ['a Monte Carlo outcome other than 0/1', stamped({ ...sampleBodies['proposal.validated'], mcSuccesses: [1, 2] })],
    ['learnability above 1', stamped({ ...sampleBodies['proposal.validated'], learnability: 1.5 })],
    ['a valid proposal with an error kind', stamped({ ...sampleBodies['proposal.validated'], error: 'timeout' })],
    ['a valid proposal without output', stamped({ ...sampleBodies['proposal.validated'], output: null })],
    [
      'an invalid proposal without error kind',
      stamped({
        ...sampleBodies['proposal.validated'],
        valid: false,
        output: null,
        mcSuccesses: [],
        learnability: null,
      }),
    ],
    [
      'an invalid proposal with a learnability estimate',
      stamped({ ...sampleBodies['proposal.validated'], valid: false, error: 'syntax', output: null }),
    ],
    ['an unknown finish reason', stamped({ ...sampleBodies['run.finished'], reason: 'bored' })],
    ['a non-JSON scenario value', stamped({ ...sampleBodies['run.started'], scenario: { f: () => 1 } })],
  ])('rejects %s with InvalidRunEventError', (_what, value) => {
    expect(() => parseRunEvent(value)).toThrow(InvalidRunEventError);
  });

  it('accepts an invalid proposal that carries its error kind and no estimate', () => {
    const body = {
      ...sampleBodies['proposal.validated'],
      valid: false,
      error: 'syntax',
      output: null,
      mcSuccesses: [],
      learnability: null,
    };
    expect(parseRunEvent(stamped(body)).type).toBe('proposal.validated');
  });

  it('says which field is wrong and which event type it was', () => {
    const error = (() => {
      try {
        parseRunEvent(stamped({ ...sampleBodies['rollout.scored'], advantage: 'high' }));
      } catch (e) {
        return e as InvalidRunEventError;
      }
      throw new Error('expected a rejection');
    })();
    expect(error.message).toContain('rollout.scored');
    expect(error.message).toContain('advantage');
    expect(error.issues[0]?.path).toEqual(['advantage']);
  });

  it('builds bodies typed by their event type, without the envelope', () => {
    const body = eventBody('checkpoint.saved', { path: 'ckpt/3', policyVersion: 3 });
    expect(body).toEqual({ type: 'checkpoint.saved', path: 'ckpt/3', policyVersion: 3 });
    expectTypeOf(body).toEqualTypeOf<RunEventBodyOf<'checkpoint.saved'>>();
    expectTypeOf<RunEventOf<'health'>['validShare']>().toEqualTypeOf<number | null>();
    for (const key of ENVELOPE_KEYS) expectTypeOf(body).not.toHaveProperty(key);
    // @ts-expect-error a field of another event type is refused at compile time
    eventBody('checkpoint.saved', { path: 'ckpt/3', policyVersion: 3, loss: 1 });
    // @ts-expect-error a missing field is refused at compile time
    eventBody('learner.step', { loss: 1 });
  });

  it('narrows on type', () => {
    const event: RunEvent = parseRunEvent(stamped(sampleBodies['queue.depth']));
    if (event.type === 'queue.depth') expectTypeOf(event.credit).toEqualTypeOf<number | null>();
    expect(event.type).toBe('queue.depth');
  });

  it('exports a JSON Schema with one branch per event type', () => {
    const text = JSON.stringify(runEventJsonSchema());
    for (const type of RUN_EVENT_TYPES) expect(text).toContain(`"const":"${type}"`);
  });
});
