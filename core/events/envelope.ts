import { z } from 'zod';
import { snowflakeString } from '../discord/snowflake.ts';
import { parseJsonRecord } from './json-record.ts';

/**
 * The record every role reads and writes on the event topics (ARCHITECTURE.md, "Event envelope").
 * Version 1. Ids are decimal strings. Consumers must validate with `parseEnvelope` and send what
 * fails to the dead-letter topic, never drop it.
 */
const snowflake = snowflakeString();

export const envelopeSchema = z.object({
  v: z.literal(1),
  /** Unique per event: `gw:<shard>:<session_id>:<seq>` for gateway dispatches, `http:<message_id>` for HTTP ingest. Consumers dedupe on it. */
  id: z.string().min(1).max(200),
  /** The dispatch name (`MESSAGE_CREATE`, ...). */
  type: z.string().regex(/^[A-Z0-9_]{1,64}$/, 'an upper-case dispatch name'),
  guild_id: snowflake.optional(),
  channel_id: snowflake.optional(),
  source: z.enum(['gateway', 'http', 'replay']),
  /** Gateway shard the event came through; absent for HTTP ingest. */
  shard: z.number().int().min(0).optional(),
  session_id: z.string().max(200).optional(),
  seq: z.number().int().min(0).optional(),
  /** Unix ms when guildcast first saw the event: the start of end-to-end latency. */
  received_at: z.number().int().nonnegative(),
  /** Correlation id carried into logs from ingest to delivery. */
  trace_id: z.string().min(1).max(100),
  /** The dispatch payload as Discord sent it. */
  d: z.unknown(),
});

export type EventEnvelope = z.infer<typeof envelopeSchema>;

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/** Parses a record value; throws EnvelopeError with a reason fit for a dead-letter header. */
export function parseEnvelope(value: Buffer | string | null | undefined): EventEnvelope {
  return parseJsonRecord(value, envelopeSchema, 'envelope', (reason) => new EnvelopeError(reason));
}

/** The routing id of an event: its guild, else its channel (DMs), else none. */
export function routingKey(event: Pick<EventEnvelope, 'guild_id' | 'channel_id'>): string | undefined {
  return event.guild_id ?? event.channel_id;
}

export function serializeEnvelope(event: EventEnvelope): Buffer {
  return Buffer.from(JSON.stringify(event));
}
