import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { deadLetterMessage } from '../core/kafka/dead-letter.ts';
import type { Headers } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import type { IngestMetrics } from './metrics.ts';
import type { BatchingPublisher, ShardPosition } from './publisher.ts';

export interface Rejected {
  /** `ingest.gateway` or `ingest.http`. */
  stage: string;
  reason: string;
  /** The dispatch name, or what the input claimed to be. */
  type: string;
  key: string | undefined;
  /** The input exactly as received. */
  value: Buffer | string;
  traceId: string;
  headers?: Headers;
  position?: ShardPosition;
}

/**
 * The one path from "something arrived" to Kafka, shared by the gateway and HTTP ingest: events go
 * to the events topic keyed by guild (else channel), rejects to the dead-letter topic with a reason.
 */
export class EventSink {
  constructor(
    private readonly publisher: BatchingPublisher,
    private readonly topics: { events: string; deadLetter: string },
    private readonly metrics: IngestMetrics,
    private readonly logger: Logger,
  ) {}

  /** Queues an event without waiting (the gateway path: acknowledgements arrive as positions). */
  event(envelope: EventEnvelope, key: string | undefined, position?: ShardPosition): void {
    this.trace(envelope);
    this.publisher.enqueue({ topic: this.topics.events, key, value: serializeEnvelope(envelope), type: envelope.type, position });
  }

  /** Publishes an event and resolves once Kafka acknowledged it. */
  eventAcked(envelope: EventEnvelope, key: string | undefined): Promise<void> {
    this.trace(envelope);
    return this.publisher.publish({ topic: this.topics.events, key, value: serializeEnvelope(envelope), type: envelope.type });
  }

  /** The first log line of an event's trace (debug level; fanout and the edge log the same trace_id). */
  private trace(envelope: EventEnvelope): void {
    if (this.logger.isLevelEnabled('debug'))
      this.logger.debug({ trace_id: envelope.trace_id, type: envelope.type, guild_id: envelope.guild_id, event_id: envelope.id }, 'event queued for Kafka');
  }

  /** Counts, logs and dead-letters an input that could not become an event; never throws. */
  reject(rejected: Rejected): void {
    const { stage, reason, type, key, value, traceId, headers, position } = rejected;
    this.metrics.deadLettered.inc({ type: metricLabel(type), stage });
    this.logger.warn({ stage, type, reason, trace_id: traceId, shard: position?.shard, seq: position?.seq }, 'input dead-lettered');
    const message = deadLetterMessage({ stage, reason, key, value, traceId, headers });
    this.publisher.enqueue({
      topic: this.topics.deadLetter,
      key: message.key === null ? null : String(message.key),
      value: Buffer.isBuffer(message.value) ? message.value : Buffer.from(message.value ?? ''),
      headers: message.headers,
      type: 'DEAD_LETTER',
      position,
    });
  }

  isFull(): boolean {
    return this.publisher.isFull();
  }
}

/** Malformed inputs carry arbitrary names; keep the label set small and safe. */
function metricLabel(type: string): string {
  return /^[A-Z0-9_]{1,64}$/.test(type) ? type : 'INVALID';
}
