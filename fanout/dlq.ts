import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import { guildPartitioner } from '../core/events/partition.ts';
import { DLQ_HEADERS } from '../core/kafka/dead-letter.ts';

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

const text = (h: IHeaders[string]) => (h === undefined ? undefined : Array.isArray(h) ? String(h[0]) : String(h));

/** Reads the dead-letter topic from `fromOffset` (default: the start) to its current end, without joining any group's offsets. */
export async function readDeadLetters(kafka: Kafka, topic: string, { fromOffset = 0n } = {}): Promise<DeadLetterRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const end = ends.reduce((sum, p) => sum + BigInt(p.high), 0n);
  const out: DeadLetterRecord[] = [];
  if (end === 0n) return out;
  const targets = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  if (targets.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `guildcast-dlq-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const done = new Set<number>();
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (BigInt(message.offset) >= fromOffset) {
              const h = message.headers ?? {};
              const sourceTopic = text(h[DLQ_HEADERS.sourceTopic]);
              out.push({
                offset: message.offset,
                stage: text(h[DLQ_HEADERS.stage]),
                reason: text(h[DLQ_HEADERS.reason]),
                ...(sourceTopic
                  ? { source: { topic: sourceTopic, partition: Number(text(h[DLQ_HEADERS.sourcePartition])), offset: text(h[DLQ_HEADERS.sourceOffset])! } }
                  : {}),
                key: message.key?.toString('utf8') ?? null,
                value: message.value?.toString('utf8') ?? null,
              });
            }
            if (BigInt(message.offset) + 1n >= targets.get(partition)!) done.add(partition);
            if (done.size === targets.size) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/**
 * Puts dead letters back on the topic they came from (or `defaultTopic` when they name none),
 * with the same key, so the guild partitioner routes them as before. Each carries
 * `x-guildcast-replayed-from` with its dead-letter offset. Returns how many were sent.
 */
export async function replayDeadLetters(kafka: Kafka, letters: DeadLetterRecord[], defaultTopic: string): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: guildPartitioner });
  await producer.connect();
  try {
    const byTopic = new Map<string, DeadLetterRecord[]>();
    for (const l of letters) {
      const topic = l.source?.topic ?? defaultTopic;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), l]);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((l) => ({ key: l.key, value: l.value, headers: { [REPLAYED_FROM_HEADER]: l.offset } })),
      })),
    });
    return letters.length;
  } finally {
    await producer.disconnect();
  }
}
