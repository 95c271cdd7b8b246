import net from 'node:net';
import { parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import type { SocketFactory } from '../core/kafka/client.ts';
import { followTopic as follow } from '../core/kafka/testing.ts';
import type { KafkaClient } from '../core/kafka/types.ts';
import { freePort } from '../bench/kit/free-port.ts';

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

/**
 * A socket factory (`createKafka`'s option) that can cut the client off from Kafka: while closed,
 * open connections are destroyed and new ones are refused. Only the client using it is affected,
 * not the shared broker.
 */
export async function kafkaGate() {
  const refusing = await freePort();
  const sockets = new Set<net.Socket>();
  let open = true;
  const socketFactory: SocketFactory = ({ host, port, onConnect }) => {
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
