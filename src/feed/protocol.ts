// The azr.v1 feed protocol: client and server messages as zod discriminated unions on `op`, and their JSON Schema.
import { z } from 'zod';
import { EVENT_SCHEMA_VERSION, RUN_EVENT_TYPES, RunEventSchema } from '../streams/events.js';
import type { RunEventType } from '../streams/events.js';

/** The websocket subprotocol a client must offer (`Sec-WebSocket-Protocol`); a new major version gets a new name. */
export const FEED_PROTOCOL = 'azr.v1';

/** Default port of the feed and its dashboard (`azr run --port`, `azr replay --port`). */
export const DEFAULT_FEED_PORT = 7341;

/** Close codes the server uses besides the standard ones (1009 = message too big is sent by `ws` itself). */
export const FEED_CLOSE_CODES = {
  /** The server is shutting down (the run ended and the feed closed, or Ctrl-C). */
  serverClosing: 1001,
  /** The client's send queue stayed over its byte limit: it does not read fast enough (or at all). */
  slowConsumer: 4008,
} as const;

/**
 * Named groups of event types a client may subscribe to instead of (or as well as) single types. Every event type
 * is in at least one channel.
 */
export const FEED_CHANNELS = {
  run: ['base.progress', 'run.started', 'run.finished', 'step.finished', 'checkpoint.saved'],
  rollouts: ['rollout.scored', 'rollout.dropped'],
  proposals: ['proposal.validated'],
  learner: ['learner.step', 'probe.evaluated'],
  health: ['health', 'buffer.sizes', 'executor.stats', 'error'],
  flow: ['queue.depth', 'actor.state'],
} as const satisfies Record<string, readonly RunEventType[]>;
export type FeedChannel = keyof typeof FEED_CHANNELS;
const CHANNEL_NAMES = Object.keys(FEED_CHANNELS) as [FeedChannel, ...FeedChannel[]];

const seq = z.number().int().nonnegative();
const eventType = z.enum(RUN_EVENT_TYPES as unknown as [RunEventType, ...RunEventType[]]);

// ---------------------------------------------------------------------------------------------------------------
// Client → server

const SubscribeSchema = z
  .strictObject({
    op: z.literal('subscribe'),
    fromSeq: seq
      .optional()
      .describe(
        'first seq wanted: earlier events are replayed from events.jsonl, then live ones follow; default: live only',
      ),
    types: z
      .array(eventType)
      .min(1)
      .optional()
      .describe('event types wanted; with `channels`, their union; default: all'),
    channels: z.array(z.enum(CHANNEL_NAMES)).min(1).optional().describe('channels (named groups of types) wanted'),
  })
  .describe('start (or restart) the event stream; a later subscribe replaces the earlier one');

/** Every message a client may send. */
const ClientMessageSchema = z.discriminatedUnion('op', [SubscribeSchema]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type SubscribeMessage = z.infer<typeof SubscribeSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Server → client

const ScenarioSummarySchema = z
  .strictObject({
    name: z.string().nullable(),
    mode: z.string().nullable().describe('sync | async'),
    seed: z.union([z.number(), z.string()]).nullable(),
    steps: z.number().int().nonnegative().nullable().describe('training steps planned'),
    backend: z.string().nullable().describe('tensor backend of the run'),
  })
  .describe('the few scenario facts a viewer shows; the whole scenario is in the run.started event');
export type ScenarioSummary = z.infer<typeof ScenarioSummarySchema>;

const HelloSchema = z
  .strictObject({
    op: z.literal('hello'),
    protocol: z.literal(FEED_PROTOCOL),
    schemaVersion: z.literal(EVENT_SCHEMA_VERSION).describe('run event schema version (`v` of every event)'),
    runId: z.string().min(1),
    scenario: ScenarioSummarySchema.nullable().describe('null until the run.started event is known'),
    source: z.enum(['live', 'replay']).describe('live: a running run; replay: a finished run directory'),
    nextSeq: seq.describe('the seq the next event will carry (= events so far)'),
    step: seq.describe('current training step'),
    finished: z.boolean().describe('no more events will come'),
    limits: z.strictObject({
      maxPayload: z
        .number()
        .int()
        .positive()
        .describe('largest client message in bytes; larger ones close the connection (1009)'),
      maxQueueBytes: z
        .number()
        .int()
        .positive()
        .describe('send queue bound per client; beyond it events are skipped (gap)'),
    }),
  })
  .describe('sent once, first, on every connection');

const SubscribedSchema = z
  .strictObject({
    op: z.literal('subscribed'),
    fromSeq: seq.describe('first seq this subscription can deliver'),
    types: z.array(eventType).nullable().describe('the event types delivered (types ∪ channels); null: all'),
  })
  .describe('acknowledges a subscribe; events follow');

const EventsSchema = z
  .strictObject({
    op: z.literal('events'),
    events: z.array(RunEventSchema).min(1).describe('run events in seq order, exactly as in events.jsonl'),
  })
  .describe('a batch of run events');

const GapSchema = z
  .strictObject({
    op: z.literal('gap'),
    fromSeq: seq,
    toSeq: seq,
    reason: z
      .enum(['slow-client', 'unavailable'])
      .describe(
        'slow-client: skipped because the send queue was over its limit; unavailable: no longer in memory nor yet in events.jsonl',
      ),
  })
  .refine((m) => m.toSeq >= m.fromSeq, { message: 'toSeq must be ≥ fromSeq', path: ['toSeq'] })
  .describe('the subscribed events with seq in [fromSeq, toSeq] were skipped; the stream goes on after toSeq');

const ErrorMessageSchema = z
  .strictObject({
    op: z.literal('error'),
    message: z.string().min(1).describe('what was wrong with the client message; the connection stays open'),
  })
  .describe('reply to an invalid client message');

/** Every message the server sends. */
export const ServerMessageSchema = z.discriminatedUnion('op', [
  HelloSchema,
  SubscribedSchema,
  EventsSchema,
  GapSchema,
  ErrorMessageSchema,
]);
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
export type HelloMessage = z.infer<typeof HelloSchema>;
export type GapMessage = z.infer<typeof GapSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Parsing

/** A message that is not valid JSON or not a valid protocol message; the text says exactly what is wrong. */
export class FeedProtocolError extends Error {
  override readonly name = 'FeedProtocolError';
}

function parseWith<T>(schema: z.ZodType<T>, text: string, side: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FeedProtocolError(`${side} message is not JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const op =
      typeof value === 'object' && value !== null && 'op' in value
        ? JSON.stringify((value as { op: unknown }).op)
        : 'missing';
    throw new FeedProtocolError(
      `invalid ${side} message (op ${op}): ${z.prettifyError(result.error).replaceAll('\n', '; ')}`,
    );
  }
  return result.data;
}

/** Parses a client message (server side); throws {@link FeedProtocolError}. */
export function parseClientMessage(text: string): ClientMessage {
  return parseWith(ClientMessageSchema, text, 'client');
}

/** Parses a server message (client side), validating every event; throws {@link FeedProtocolError}. */
export function parseServerMessage(text: string): ServerMessage {
  return parseWith(ServerMessageSchema, text, 'server');
}

/** The event types a subscription delivers (types ∪ channels), or null for all. */
export function subscribedTypes(message: Pick<SubscribeMessage, 'types' | 'channels'>): RunEventType[] | null {
  if (message.types === undefined && message.channels === undefined) return null;
  const wanted = new Set<RunEventType>(message.types ?? []);
  for (const channel of message.channels ?? []) for (const type of FEED_CHANNELS[channel]) wanted.add(type);
  return RUN_EVENT_TYPES.filter((t) => wanted.has(t));
}

/** Scenario facts for `hello`, from a run.started event's resolved scenario (missing or odd fields become null). */
export function summarizeScenario(scenario: Record<string, unknown>, backend: string | null): ScenarioSummary {
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const seed = scenario['seed'];
  const steps = scenario['steps'];
  return {
    name: str(scenario['name']),
    mode: str(scenario['mode']),
    seed: typeof seed === 'number' || typeof seed === 'string' ? seed : null,
    steps: typeof steps === 'number' && Number.isSafeInteger(steps) && steps >= 0 ? steps : null,
    backend,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// JSON Schema

/**
 * The protocol as one JSON Schema document (published as docs/feed-protocol.schema.json): `$defs.ClientMessage`
 * and `$defs.ServerMessage`, each a `oneOf` on `op`; events inside `events` messages are the run event union.
 */
export function protocolJsonSchema(): Record<string, unknown> {
  // Sub-schemas zod factors out (the recursive JSON value of run.started) move to the root `$defs`, where their
  // `#/$defs/…` references point.
  const shared: Record<string, unknown> = {};
  const hoist = (schema: Record<string, unknown>) => {
    const { $schema: _ignored, $defs, ...rest } = schema as { $schema?: unknown; $defs?: Record<string, unknown> };
    for (const [name, def] of Object.entries($defs ?? {})) {
      if (name in shared && JSON.stringify(shared[name]) !== JSON.stringify(def))
        throw new Error(`JSON Schema: two different $defs named ${name}`);
      shared[name] = def;
    }
    return rest;
  };
  const client = hoist(z.toJSONSchema(ClientMessageSchema, { io: 'input' }) as Record<string, unknown>);
  const server = hoist(z.toJSONSchema(ServerMessageSchema) as Record<string, unknown>);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `azr feed protocol ${FEED_PROTOCOL}`,
    description:
      `WebSocket subprotocol "${FEED_PROTOCOL}" of the azr live feed. Every message is one JSON text frame with an "op" field. ` +
      'The server sends hello first; the client sends subscribe; the server answers subscribed, then events and gap ' +
      'messages in seq order. Invalid client messages get an error reply. Generated from src/feed/protocol.ts; do not edit.',
    'x-subprotocol': FEED_PROTOCOL,
    'x-close-codes': { ...FEED_CLOSE_CODES, messageTooBig: 1009 },
    'x-channels': FEED_CHANNELS,
    oneOf: [{ $ref: '#/$defs/ClientMessage' }, { $ref: '#/$defs/ServerMessage' }],
    $defs: { ClientMessage: client, ServerMessage: server, ...shared },
  };
}

/** The text of docs/feed-protocol.schema.json. */
export function protocolJsonSchemaText(): string {
  return JSON.stringify(protocolJsonSchema(), null, 2) + '\n';
}
