import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from './types.ts';
import { ensureTopics } from './topics.ts';
import { partitionForKey, partitionFor } from '../events/partition.ts';
import { parseEnvelope, serializeEnvelope, type EventEnvelope } from '../events/envelope.ts';
import { localKafkaConfig, uniqueName } from '../../test/support.ts';
import { createKafka, kafkaClientNames } from './client.ts';
import { silentLogger } from '../logger.ts';

// Every implementation of the seam (KAFKA_CLIENT) against the same broker and the same expectations.
describe.each(kafkaClientNames)('Kafka module against the real broker (%s)', (client) => {
  const kafka = createKafka({ ...localKafkaConfig, KAFKA_CLIENT: client }, silentLogger);
  let admin: Admin;
  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('creates topics idempotently with the configured partitions and retention', async () => {
    const name = uniqueName('topics');
    const spec = { name, partitions: 6, retentionMs: 3_600_000 };
    await ensureTopics(admin, [spec]);
    await ensureTopics(admin, [spec]);
    const [meta] = await admin.describeTopics([name]);
    expect(meta!.partitions).toHaveLength(6);
    expect((await admin.topicConfigs(name, ['retention.ms']))['retention.ms']).toBe('3600000');
  });

  it('round-trips envelopes, each guild on its shard-formula partition and in order', async () => {
    const topic = uniqueName('roundtrip');
    await ensureTopics(admin, [{ name: topic, partitions: 4, retentionMs: 3_600_000 }]);
    const producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();
    const guilds = ['81384788765712384', '175928847299117063', '222078108977594368'];
    const sent: EventEnvelope[] = [];
    for (let seq = 1; seq <= 30; seq++) {
      const guild_id = guilds[seq % guilds.length]!;
      sent.push({ v: 1, id: `t:${seq}`, type: 'MESSAGE_CREATE', guild_id, source: 'gateway', seq, received_at: Date.now(), trace_id: `t${seq}`, d: { n: seq } });
    }
    await producer.send({ topic, messages: sent.map((e) => ({ key: e.guild_id!, value: serializeEnvelope(e) })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('g') });
    const received: { partition: number; event: EventEnvelope }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          topics: [topic],
          from: 'earliest',
          eachBatch: async ({ batch }) => {
            for (const record of batch.records) received.push({ partition: batch.partition, event: parseEnvelope(record.value) });
            if (received.length >= sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.stop();

    expect(received.map((r) => r.event.id).sort()).toEqual(sent.map((e) => e.id).sort());
    for (const guild of guilds) {
      const mine = received.filter((r) => r.event.guild_id === guild);
      expect(new Set(mine.map((r) => r.partition))).toEqual(new Set([partitionFor(BigInt(guild), 4)]));
      expect(mine.map((r) => r.event.seq)).toEqual(sent.filter((e) => e.guild_id === guild).map((e) => e.seq));
    }
  });
});

describe('kafkajs connections', () => {
  it('are opened with TCP_NODELAY (Node leaves Nagle on, and a pipelined request would wait for an ACK)', async () => {
    const noDelay: (boolean | undefined)[] = [];
    const kafka = createKafka({ ...localKafkaConfig, KAFKA_CLIENT: 'kafkajs' }, silentLogger, {
      onSocket: (socket) => {
        const set = socket.setNoDelay.bind(socket);
        socket.setNoDelay = (value?: boolean) => (noDelay.push(value), set(value));
      },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.listTopics();
    await admin.disconnect();
    expect(noDelay.length).toBeGreaterThan(0);
    expect(noDelay.every((v) => v === true)).toBe(true);
  });
});
