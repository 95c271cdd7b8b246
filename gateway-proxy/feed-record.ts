import { EnvelopeError, parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import type { ConsumedRecord } from '../core/kafka/types.ts';

/** What a `deliveries` record is to the edge, given the highest source offset already passed on its partition. */
export type FeedRecord =
  | { kind: 'event'; event: EventEnvelope; sourceOffset: bigint }
  /** Fanout produced it again (its source offset is at or below one passed): dropped. */
  | { kind: 'redelivery' }
  /** Not a valid delivery; `sourceOffset` (when it had one) still counts as passed. */
  | { kind: 'invalid'; reason: string; sourceOffset: bigint | undefined };

/**
 * The one rule the live feed and replays both apply, so a replay hands a session exactly what the
 * live path would have: the source offset header first (a redelivery is dropped before parsing),
 * then the envelope.
 */
export function readFeedRecord(message: ConsumedRecord, passed: bigint): FeedRecord {
  const sourceOffset = sourceOffsetOf(message);
  if (sourceOffset === undefined) return { kind: 'invalid', reason: `missing or invalid ${SOURCE_OFFSET_HEADER} header`, sourceOffset: undefined };
  if (sourceOffset <= passed) return { kind: 'redelivery' };
  try {
    return { kind: 'event', event: parseEnvelope(message.value), sourceOffset };
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    return { kind: 'invalid', reason: err.message, sourceOffset };
  }
}

/** Bytes of a record as read from Kafka: key, value and headers (names and values). */
export function recordBytes(message: ConsumedRecord): number {
  let bytes = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers)) bytes += Buffer.byteLength(name) + value.length;
  return bytes;
}

/** The record's `x-guildcast-source-offset`, undefined when it has none (or not a valid one); nothing else is parsed. */
export function sourceOffsetOf(message: ConsumedRecord): bigint | undefined {
  const text = message.headers[SOURCE_OFFSET_HEADER]?.toString();
  return text !== undefined && /^\d{1,19}$/.test(text) ? BigInt(text) : undefined;
}
