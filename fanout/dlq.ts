import { partitionForKey } from '../core/events/partition.ts';
import { DLQ_HEADERS } from '../core/kafka/dead-letter.ts';
import { readToEnd } from '../core/kafka/read-to-end.ts';
import type { KafkaClient } from '../core/kafka/types.ts';

/** One dead letter as `guildcast dlq list/export` prints it and `dlq replay --file` reads it. */
export interface DeadLetterRecord {
  offset: string;
  stage?: string;
  reason?: string;
  source?: { topic: string; partition: number; offset: string };
  key: string | null;
  /** The original record value as text (envelopes are JSON); edit this to fix a record. */
  value: string | null;
}

/** On a record `guildcast dlq replay` put back: the dead-letter offset it came from. */
export const REPLAYED_FROM_HEADER = 'x-guildcast-replayed-from';

/** Reads the dead-letter topic from `fromOffset` (default: the start) to its current end, without joining any group's offsets. */
export async function readDeadLetters(kafka: KafkaClient, topic: string, { fromOffset = 0n } = {}): Promise<DeadLetterRecord[]> {
  const out: DeadLetterRecord[] = [];
  await readToEnd(
    kafka,
    topic,
    (record) => {
      if (BigInt(record.offset) < fromOffset) return;
      const h = record.headers;
      const text = (name: string) => h[name]?.toString('utf8');
      const sourceTopic = text(DLQ_HEADERS.sourceTopic);
      out.push({
        offset: record.offset,
        stage: text(DLQ_HEADERS.stage),
        reason: text(DLQ_HEADERS.reason),
        ...(sourceTopic ? { source: { topic: sourceTopic, partition: Number(text(DLQ_HEADERS.sourcePartition)), offset: text(DLQ_HEADERS.sourceOffset)! } } : {}),
        key: record.key?.toString('utf8') ?? null,
        value: record.value?.toString('utf8') ?? null,
      });
    },
    { groupPrefix: 'guildcast-dlq-reader' },
  );
  return out;
}

/**
 * Puts dead letters back on the topic they came from (or `defaultTopic` when they name none),
 * with the same key, so the guild partitioner routes them as before. Each carries
 * `x-guildcast-replayed-from` with its dead-letter offset. Returns how many were sent.
 */
export async function replayDeadLetters(kafka: KafkaClient, letters: DeadLetterRecord[], defaultTopic: string): Promise<number> {
  const producer = kafka.producer({ idempotent: true, partitioner: partitionForKey });
  await producer.connect();
  try {
    const byTopic = new Map<string, DeadLetterRecord[]>();
    for (const l of letters) {
      const topic = l.source?.topic ?? defaultTopic;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), l]);
    }
    await producer.sendBatch(
      [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((l) => ({ key: l.key, value: l.value, headers: { [REPLAYED_FROM_HEADER]: l.offset } })),
      })),
    );
    return letters.length;
  } finally {
    await producer.disconnect();
  }
}
