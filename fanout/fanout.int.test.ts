import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, ConsumedRecord, GroupConsumer, KafkaClient, Producer } from '../core/kafka/types.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../core/events/partition.ts';
import { createRegistry } from '../core/metrics.ts';
import { parseEnvelope, serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { ensureTopics, topicNames } from '../core/kafka/topics.ts';
import { SnowflakeGenerator, snowflakeAt } from '../core/discord/snowflake.ts';
import { createMessageStore, type CqlClient, type MessageStore } from '../store/index.ts';
import { startRole, type RoleProcess } from '../test/child.ts';
import { TcpProxy } from '../test/tcp-proxy.ts';
import { dropKeyspace, eventually, testKafka, testKeyspace, uniqueName } from '../test/support.ts';
import { dlqCli } from './dlq-cli.ts';
import { readDeadLetters } from './dlq.ts';
import { groupLag } from './lag.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';

const PARTITIONS = 6;
const ids = new SnowflakeGenerator({ workerId: 3 });
const guilds = Array.from({ length: 12 }, (_, i) => String(snowflakeAt(Date.now() - i * 86_400_000)));

function messageEvent(guildId: string, n: number, overrides: Record<string, unknown> = {}): EventEnvelope {
  const channelId = String(BigInt(guildId) + 1n);
  const id = String(ids.next());
  return {
    v: 1,
    id: `test:${id}`,
    type: 'MESSAGE_CREATE',
    guild_id: guildId,
    channel_id: channelId,
    source: 'http',
    received_at: Date.now(),
    trace_id: `t-${id}`,
    d: { id, channel_id: channelId, guild_id: guildId, author: { id: '42', username: 'tester' }, content: `message ${n}`, type: 0, ...overrides },
  };
}

/** One isolated pipeline: its own topics, consumer group and keyspace. */
async function pipeline(kafka: KafkaClient, admin: Admin) {
  const prefix = uniqueName('fanout');
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const hour = 3_600_000;
  await ensureTopics(admin, [
    { name: topics.events, partitions: PARTITIONS, retentionMs: hour },
    { name: topics.deliveries, partitions: PARTITIONS, retentionMs: hour },
    { name: topics.deadLetter, partitions: 1, retentionMs: hour },
  ]);
  const { client, keyspace } = await testKeyspace('fanout');
  const store = createMessageStore({ client, keyspace, registry: createRegistry('test', { defaults: false }) });
  const group = `${prefix}-group`;
  const env = (extra: Record<string, string> = {}) => ({
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_EVENT_PARTITIONS: String(PARTITIONS),
    CASSANDRA_KEYSPACE: keyspace,
    FANOUT_GROUP_ID: group,
    FANOUT_HTTP_PORT: '0',
    FANOUT_CHUNK_SIZE: '50',
    FANOUT_RETRY_MIN_MS: '100',
    FANOUT_RETRY_MAX_MS: '1000',
    ...extra,
  });
  return { prefix, topics, client, keyspace, store, group, env };
}

async function produce(producer: Producer, topic: string, events: EventEnvelope[]): Promise<void> {
  await producer.send({ topic, messages: events.map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e) })) });
}

/**
 * Reads the deliveries topic and, the moment each delivery arrives, checks that its message is
 * already in the store: the edge must never hear of a message history cannot serve.
 */
async function watchDeliveries(kafka: KafkaClient, topic: string, store: MessageStore) {
  const consumer = kafka.consumer({ groupId: uniqueName('watch') });
  await consumer.run({
    topics: [topic],
    from: 'earliest',
    eachBatch: async ({ batch }) => {
      for (const message of batch.records) await onRecord(batch.partition, message);
    },
  });
  const delivered = new Map<string, number>();
  const notYetStored: string[] = [];
  const offsetsPerPartition = new Map<number, string[]>();
  async function onRecord(partition: number, message: ConsumedRecord) {
      const event = parseEnvelope(message.value);
      const d = event.d as { id: string; channel_id: string };
      if (!(await store.getMessage(d.channel_id, d.id))) notYetStored.push(d.id);
      delivered.set(d.id, (delivered.get(d.id) ?? 0) + 1);
      const list = offsetsPerPartition.get(partition) ?? [];
      list.push(String(message.headers[SOURCE_OFFSET_HEADER]));
      offsetsPerPartition.set(partition, list);
  }
  return { consumer, delivered, notYetStored, offsetsPerPartition };
}

async function allStored(store: MessageStore, events: EventEnvelope[]): Promise<string[]> {
  const missing: string[] = [];
  for (let i = 0; i < events.length; i += 100) {
    const rows = await Promise.all(
      events.slice(i, i + 100).map(async (e) => {
        const d = e.d as { id: string; channel_id: string };
        return (await store.getMessage(d.channel_id, d.id)) ? undefined : d.id;
      }),
    );
    missing.push(...rows.filter((r): r is string => r !== undefined));
  }
  return missing;
}

async function historyCount(client: CqlClient, keyspace: string): Promise<number> {
  return Number((await client.execute(`SELECT COUNT(*) AS n FROM ${keyspace}.messages`)).first().n);
}

describe('fanout against real Kafka and Cassandra, as child processes', () => {
  let kafka: KafkaClient;
  let admin: Admin;
  let producer: Producer;
  const processes: RoleProcess[] = [];
  const consumers: GroupConsumer[] = [];
  const keyspaces: { client: CqlClient; keyspace: string }[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await Promise.all(consumers.map((c) => c.stop()));
    await producer.disconnect();
    await admin.disconnect();
    for (const k of keyspaces) await dropKeyspace(k.client, k.keyspace);
  });

  it('survives a SIGKILLed member and a new one mid-stream: every message stored once, delivered only after its write', async () => {
    const p = await pipeline(kafka, admin);
    keyspaces.push(p);
    const watcher = await watchDeliveries(kafka, p.topics.deliveries, p.store);
    consumers.push(watcher.consumer);
    const members = [0, 1, 2].map(() => startRole('fanout/main.ts', p.env()));
    processes.push(...members);

    const sent: EventEnvelope[] = [];
    const round = async (n: number) => {
      const events = Array.from({ length: n }, (_, i) => messageEvent(guilds[(sent.length + i) % guilds.length]!, sent.length + i));
      sent.push(...events);
      await produce(producer, p.topics.events, events);
    };
    for (let i = 0; i < 5; i++) await round(200);
    await eventually('some messages persisted before the kill', async () => ((await historyCount(p.client, p.keyspace)) > 0 ? true : undefined), 120_000);

    members[0]!.child.kill('SIGKILL');
    await members[0]!.exited;
    for (let i = 0; i < 5; i++) await round(200);
    const late = startRole('fanout/main.ts', p.env());
    processes.push(late);
    for (let i = 0; i < 5; i++) await round(200);

    await eventually(
      'every message delivered',
      () => (sent.every((e) => watcher.delivered.has((e.d as { id: string }).id)) ? true : undefined),
      180_000,
    );
    expect(await allStored(p.store, sent)).toEqual([]);
    expect(await historyCount(p.client, p.keyspace)).toBe(sent.length); // exactly one row per message
    expect(watcher.notYetStored).toEqual([]);
    // Redeliveries after the kill repeat a source offset; the edge drops those. Fresh ones only grow.
    for (const offsets of watcher.offsetsPerPartition.values()) {
      const unique = [...new Set(offsets.map(BigInt))];
      expect(unique).toEqual([...unique].sort((a, b) => (a < b ? -1 : 1)));
    }
    await eventually('lag drained to zero', async () => {
      const lag = await groupLag(admin, p.group, p.topics.events);
      return lag.every((l) => l.lag === 0) ? lag : undefined;
    });
    for (const m of [members[1]!, members[2]!, late]) expect(await m.kill('SIGTERM')).toBe(0);
  });

  it('pauses while Cassandra is unreachable, lag grows, then drains to zero with nothing lost', async () => {
    const p = await pipeline(kafka, admin);
    keyspaces.push(p);
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: 9042 }).start();
    const member = startRole('fanout/main.ts', p.env({ CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}` }));
    processes.push(member);
    try {
      const first = guilds.map((g, i) => messageEvent(g, i));
      await produce(producer, p.topics.events, first);
      await eventually('first messages stored', async () => ((await allStored(p.store, first)).length === 0 ? true : undefined), 120_000);

      proxy.pause();
      const during = Array.from({ length: 300 }, (_, i) => messageEvent(guilds[i % guilds.length]!, 1000 + i));
      await produce(producer, p.topics.events, during);
      const lagWhileDown = await eventually('lag to build up while the store is down', async () => {
        const total = (await groupLag(admin, p.group, p.topics.events)).reduce((s, l) => s + l.lag, 0);
        return total >= during.length ? total : undefined;
      });
      expect(lagWhileDown).toBeGreaterThanOrEqual(during.length);
      expect(member.child.exitCode).toBeNull(); // paused, not crashed
      await eventually('the member to report the outage', () => (member.output().includes('store write failed') ? true : undefined));

      proxy.resume();
      await eventually('lag drained after the store came back', async () => {
        const lag = await groupLag(admin, p.group, p.topics.events);
        return lag.every((l) => l.lag === 0) ? true : undefined;
      }, 120_000);
      expect(await allStored(p.store, [...first, ...during])).toEqual([]);
      const letters = await readDeadLetters(kafka, p.topics.deadLetter);
      expect(letters).toEqual([]); // an outage is waited out, never dead-lettered
      expect(await member.kill('SIGTERM')).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('dead-letters poison records with reasons, keeps going, and replays fixed records', async () => {
    const p = await pipeline(kafka, admin);
    keyspaces.push(p);
    const member = startRole('fanout/main.ts', p.env());
    processes.push(member);
    const guild = guilds[0]!;
    const good1 = messageEvent(guild, 1);
    const noAuthor = messageEvent(guild, 2, { author: undefined });
    const good2 = messageEvent(guild, 3);
    await producer.send({
      topic: p.topics.events,
      messages: [
        { key: guild, value: serializeEnvelope(good1) },
        { key: guild, value: Buffer.from('{"this is": not json') },
        { key: guild, value: Buffer.from(JSON.stringify({ v: 1, type: 'MESSAGE_CREATE' })) },
        { key: guild, value: serializeEnvelope(noAuthor) },
        { key: guild, value: serializeEnvelope(good2) },
      ],
    });
    await eventually('good messages stored past the poison', async () => ((await allStored(p.store, [good1, good2])).length === 0 ? true : undefined), 120_000);
    const letters = await eventually('three dead letters', async () => {
      const l = await readDeadLetters(kafka, p.topics.deadLetter);
      return l.length === 3 ? l : undefined;
    });
    expect(letters.map((l) => l.stage)).toEqual(['fanout.parse', 'fanout.parse', 'fanout.persist']);
    expect(letters[0]!.reason).toMatch(/not JSON/);
    expect(letters[1]!.reason).toMatch(/invalid envelope/);
    expect(letters[2]!.reason).toMatch(/author/);
    expect(letters.every((l) => l.source?.topic === p.topics.events)).toBe(true);
    expect(member.child.exitCode).toBeNull();

    // An operator exports, fixes the message that lacked its author, and replays just that one.
    const dir = await mkdtemp(join(tmpdir(), 'dlq-'));
    const env = { ...process.env, KAFKA_TOPIC_PREFIX: p.prefix, LOG_LEVEL: 'warn' };
    expect(await dlqCli(['export', '--out', join(dir, 'all.jsonl')], env)).toBe(0);
    const exported = (await readFile(join(dir, 'all.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const fixable = exported.find((l) => l.stage === 'fanout.persist');
    const value = JSON.parse(fixable.value);
    value.d.author = { id: '42', username: 'tester' };
    await writeFile(join(dir, 'fixed.jsonl'), JSON.stringify({ ...fixable, value: JSON.stringify(value) }) + '\n');
    expect(await dlqCli(['replay', '--file', join(dir, 'fixed.jsonl')], env)).toBe(0);

    await eventually('the fixed record stored', async () => ((await allStored(p.store, [noAuthor])).length === 0 ? true : undefined), 60_000);
    expect((await readDeadLetters(kafka, p.topics.deadLetter)).length).toBe(3); // nothing new failed
    expect(await member.kill('SIGTERM')).toBe(0);
  });
});
