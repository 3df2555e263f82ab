// The azr.v1 protocol schemas: what they accept and refuse on each side, channels, and the published JSON Schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FEED_CHANNELS,
  FeedProtocolError,
  parseClientMessage,
  parseServerMessage,
  protocolJsonSchema,
  protocolJsonSchemaText,
  subscribedTypes,
} from '../../src/feed/protocol.js';
import { RUN_EVENT_TYPES } from '../../src/streams/events.js';

const event = {
  v: 1,
  runId: 'r',
  seq: 3,
  t: 10,
  step: 1,
  type: 'buffer.sizes',
  sizes: { deduction: 1, abduction: 2, induction: 3 },
};

describe('client messages', () => {
  it('accepts subscribe with or without fromSeq, types and channels', () => {
    expect(parseClientMessage('{"op":"subscribe"}')).toEqual({ op: 'subscribe' });
    expect(parseClientMessage('{"op":"subscribe","fromSeq":12,"types":["health"],"channels":["learner"]}')).toEqual({
      op: 'subscribe',
      fromSeq: 12,
      types: ['health'],
      channels: ['learner'],
    });
  });

  it.each([
    ['', /not JSON/],
    ['[]', /op missing/],
    ['{"op":"subscribe","fromSeq":1.5}', /fromSeq/],
    ['{"op":"subscribe","types":[]}', /types/],
    ['{"op":"subscribe","channels":["nope"]}', /channels/],
    ['{"op":"hello"}', /op "hello"/],
  ])('refuses %j with a precise message', (text, message) => {
    expect(() => parseClientMessage(text)).toThrow(FeedProtocolError);
    expect(() => parseClientMessage(text)).toThrow(message);
  });
});

describe('server messages', () => {
  it('validates the events inside an events message', () => {
    expect(parseServerMessage(JSON.stringify({ op: 'events', events: [event] }))).toEqual({
      op: 'events',
      events: [event],
    });
    expect(() => parseServerMessage(JSON.stringify({ op: 'events', events: [{ ...event, seq: -1 }] }))).toThrow(/seq/);
    expect(() => parseServerMessage(JSON.stringify({ op: 'events', events: [] }))).toThrow(FeedProtocolError);
  });

  it('refuses a gap that ends before it starts', () => {
    expect(parseServerMessage('{"op":"gap","fromSeq":4,"toSeq":9,"reason":"slow-client"}')).toMatchObject({
      fromSeq: 4,
      toSeq: 9,
    });
    expect(() => parseServerMessage('{"op":"gap","fromSeq":9,"toSeq":4,"reason":"slow-client"}')).toThrow(/toSeq/);
  });
});

describe('channels', () => {
  it('cover every event type, and a subscription delivers types ∪ channels (null: all)', () => {
    const inChannels = new Set(Object.values(FEED_CHANNELS).flat());
    expect(RUN_EVENT_TYPES.filter((t) => !inChannels.has(t))).toEqual([]);
    expect(subscribedTypes({})).toBeNull();
    expect(subscribedTypes({ types: ['health'], channels: ['learner'] })).toEqual([
      'learner.step',
      'health',
      'probe.evaluated',
    ]);
  });
});

describe('published JSON Schema', () => {
  it('has client and server message definitions, and every $ref resolves inside the document', () => {
    const schema = protocolJsonSchema();
    const defs = schema['$defs'] as Record<string, unknown>;
    expect(Object.keys(defs)).toEqual(expect.arrayContaining(['ClientMessage', 'ServerMessage']));
    const refs = [...protocolJsonSchemaText().matchAll(/"\$ref": "#\/\$defs\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) expect(defs[ref], ref).toBeDefined();
    const ops = ((defs['ServerMessage'] as { oneOf: { properties: { op: { const: string } } }[] }).oneOf ?? []).map(
      (m) => m.properties.op.const,
    );
    expect(ops).toEqual(['hello', 'subscribed', 'events', 'gap', 'error']);
  });

  it('docs/feed-protocol.schema.json is current (regenerate: npx tsx src/feed/writeProtocolSchema.ts)', () => {
    const published = readFileSync(new URL('../../docs/feed-protocol.schema.json', import.meta.url), 'utf8');
    expect(published).toBe(protocolJsonSchemaText());
  });
});
