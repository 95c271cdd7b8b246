import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { ConsumedRecord, KafkaClient, OutgoingRecord, Producer } from './types.ts';

/** Helpers for tests that read and write real topics through the seam (integration tests only). */

export interface FollowedRecord extends ConsumedRecord {
  partition: number;
}

/**
 * Follows `topic` from its log start into `records` until stopped, through a group of its own that
 * commits nothing. `onRecord` sees each record as it arrives (awaited, so it may check the store).
 */
export async function followTopic(kafka: KafkaClient, topic: string, onRecord?: (record: FollowedRecord) => Promise<void> | void) {
  const records: FollowedRecord[] = [];
  const consumer = kafka.consumer({ groupId: `test-reader_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`, maxWaitMs: 100 });
  await consumer.run({
    topics: [topic],
    from: 'earliest',
    eachBatch: async ({ batch }) => {
      for (const record of batch.records) {
        const followed = { ...record, partition: batch.partition };
        await onRecord?.(followed);
        records.push(followed);
      }
    },
  });
  return { records, stop: () => consumer.stop() };
}

/** Produces `messages` in requests of at most `per` records, so a test's own sends stay under the broker's size limit. */
export async function produceAll(producer: Producer, topic: string, messages: OutgoingRecord[], per = 500): Promise<void> {
  for (let i = 0; i < messages.length; i += per) await producer.send({ topic, messages: messages.slice(i, i + per) });
}

/**
 * Cuts one client off from Kafka, whichever implementation it is: pass `onSocket` to `createKafka`.
 * While closed, every open connection is destroyed and every new one is destroyed as it opens, so
 * the client sees its broker fail and retries. Only that client is affected, not the shared broker.
 * A TCP proxy in front of the broker would not do: Kafka's metadata advertises the broker's own
 * listener, so after bootstrapping a client connects there directly.
 */
export function kafkaGate() {
  const sockets = new Set<net.Socket>();
  let open = true;
  // With an error: kafkajs notices a connection failing through 'error'/'end', not a bare 'close'.
  const cut = (socket: net.Socket): void => void socket.destroy(new Error('connection cut by the test gate'));
  return {
    onSocket(socket: net.Socket): void {
      if (!open) return cut(socket);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    },
    close(): void {
      open = false;
      for (const socket of sockets) cut(socket);
      sockets.clear();
    },
    open(): void {
      open = true;
    },
  };
}
