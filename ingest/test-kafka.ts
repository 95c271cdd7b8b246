import net from 'node:net';
import type { IHeaders, ISocketFactory, Kafka } from 'kafkajs';
import { parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { uniqueName } from '../test/support.ts';
import { freePort } from '../bench/kit/free-port.ts';

/** Helpers for ingest's integration tests (real Kafka, real simulator, real @discordjs/ws). */

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** Follows a topic from its beginning into `records` until stopped. */
export async function followTopic(kafka: Kafka, topic: string) {
  const records: ReadRecord[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('ingest-test-reader'), allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      records.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers: message.headers ?? {} });
    },
  });
  return {
    records,
    events: (): { partition: number; event: EventEnvelope }[] => records.map((r) => ({ partition: r.partition, event: parseEnvelope(r.value) })),
    stop: () => consumer.disconnect(),
  };
}

/**
 * A kafkajs socket factory that can cut the client off from Kafka: while closed, open connections
 * are destroyed and new ones are refused. Only the client using it is affected, not the shared broker.
 */
export async function kafkaGate() {
  const refusing = await freePort();
  const sockets = new Set<net.Socket>();
  let open = true;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host: open ? host : '127.0.0.1', port: open ? port : refusing }, onConnect);
    socket.setKeepAlive(true, 60_000);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  return {
    socketFactory,
    close() {
      open = false;
      // With an error: kafkajs notices a connection failing through 'error'/'end', not a bare 'close'.
      for (const socket of sockets) socket.destroy(new Error('connection cut by the test gate'));
    },
    open() {
      open = true;
    },
  };
}
