import { randomUUID } from 'node:crypto';
import type { ConsumedRecord, KafkaClient } from './types.ts';

/**
 * Reads `topic` from its log start to the end it has right now, calling `onRecord` in offset order
 * per partition, and resolves once every partition reached that end. It reads through a throwaway
 * group (deleted afterwards) and commits nothing, so no real group's offsets move.
 */
export async function readToEnd(
  kafka: KafkaClient,
  topic: string,
  onRecord: (record: ConsumedRecord, partition: number) => void,
  { groupPrefix = `${topic}.reader` }: { groupPrefix?: string } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = new Map((await admin.topicOffsets(topic)).filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    if (ends.size === 0) return;
    const groupId = `${groupPrefix}.${process.pid}.${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, maxWaitMs: 200 });
    try {
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            topics: [topic],
            from: 'earliest',
            eachBatch: async ({ batch }) => {
              const end = ends.get(batch.partition);
              for (const record of batch.records) {
                if (end === undefined || BigInt(record.offset) >= end) break;
                onRecord(record, batch.partition);
                if (BigInt(record.offset) + 1n >= end) ends.delete(batch.partition);
              }
              if (ends.size === 0) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.stop();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Sum of the partitions' end offsets: how many records the topic ever took (for rates). */
export async function endOffsetTotal(admin: { topicOffsets(topic: string): Promise<{ high: string }[]> }, topic: string): Promise<bigint> {
  return (await admin.topicOffsets(topic)).reduce((sum, p) => sum + BigInt(p.high), 0n);
}
