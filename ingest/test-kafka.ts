import { parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { followTopic as follow } from '../core/kafka/testing.ts';
import type { KafkaClient } from '../core/kafka/types.ts';

/** Helpers for ingest's integration tests (real Kafka, real simulator, real @discordjs/ws). */

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

/** Follows a topic from its beginning into `records` until stopped. */
export async function followTopic(kafka: KafkaClient, topic: string) {
  const records: ReadRecord[] = [];
  const reader = await follow(kafka, topic, (r) => {
    records.push({ partition: r.partition, offset: r.offset, key: r.key?.toString() ?? null, value: r.value, headers: r.headers });
  });
  return {
    records,
    events: (): { partition: number; event: EventEnvelope }[] => records.map((r) => ({ partition: r.partition, event: parseEnvelope(r.value) })),
    stop: () => reader.stop(),
  };
}
