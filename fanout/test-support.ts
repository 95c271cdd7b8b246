import { afterAll, beforeAll } from 'vitest';
import { parseEnvelope, serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { ensureTopics, topicNames } from '../core/kafka/topics.ts';
import { followTopic } from '../core/kafka/testing.ts';
import type { Admin, KafkaClient, Producer } from '../core/kafka/types.ts';
import { createRegistry } from '../core/metrics.ts';
import { DISCORD_EPOCH, SnowflakeGenerator } from '../core/discord/snowflake.ts';
import { createGuildStateStore, createMessageStore, type CqlClient, type MessageStore } from '../store/index.ts';
import { freePort, type RoleProcess } from '../test/child.ts';
import { dropKeyspace, testKafka, testKeyspace, uniqueName } from '../test/support.ts';

/** Helpers for fanout's integration tests (real Kafka, real Cassandra, fanout as child processes). */

const ids = new SnowflakeGenerator({ workerId: 5 });

// A multiple of every partition count the tests use, so `guildOnPartition(i)` lands on partition `i % partitions`.
const GUILD_BASE = ((BigInt(Date.now() - 86_400_000 * 30) - DISCORD_EPOCH) / 5040n) * 5040n;

/** A guild id whose partition (`(id >> 22) % partitions`) is `index % partitions` for partitions dividing 5040. */
export function guildOnPartition(index: number): string {
  return String((GUILD_BASE + BigInt(index)) << 22n);
}

/** A gateway MESSAGE_CREATE as ingest would publish it: id `gw:<shard>:<session>:<seq>`. */
export function gatewayMessage(guildId: string, shard: number, sessionId: string, seq: number, content = `seq ${seq}`): EventEnvelope {
  const channelId = String(BigInt(guildId) + 1n);
  const id = String(ids.next());
  return {
    v: 1,
    id: `gw:${shard}:${sessionId}:${seq}`,
    type: 'MESSAGE_CREATE',
    guild_id: guildId,
    channel_id: channelId,
    source: 'gateway',
    shard,
    session_id: sessionId,
    seq,
    received_at: Date.now(),
    trace_id: `t-${shard}-${sessionId}-${seq}`,
    d: { id, channel_id: channelId, guild_id: guildId, author: { id: '42', username: 'tester' }, content, type: 0 },
  };
}

/** One isolated pipeline: its own topics, consumer group, keyspace and ops port. */
export async function fanoutPipeline(admin: Admin, partitions: number, name = 'fanout') {
  const prefix = uniqueName(name);
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const hour = 3_600_000;
  await ensureTopics(admin, [
    { name: topics.events, partitions, retentionMs: hour },
    { name: topics.deliveries, partitions, retentionMs: hour },
    { name: topics.deadLetter, partitions: 1, retentionMs: hour },
    { name: topics.stateChanges, partitions: 1, retentionMs: hour },
  ]);
  const { client, keyspace } = await testKeyspace(name.replace(/-/g, '_'));
  const store = createMessageStore({ client, keyspace, registry: createRegistry('test', { defaults: false }) });
  const guildState = createGuildStateStore({ client, keyspace, registry: createRegistry('test', { defaults: false }) });
  const group = `${prefix}-group`;
  const port = await freePort();
  const env = (extra: Record<string, string> = {}) => ({
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_EVENT_PARTITIONS: String(partitions),
    CASSANDRA_KEYSPACE: keyspace,
    FANOUT_GROUP_ID: group,
    FANOUT_HTTP_PORT: String(port),
    FANOUT_RETRY_MIN_MS: '100',
    FANOUT_RETRY_MAX_MS: '1000',
    ...extra,
  });
  return { prefix, topics, client, keyspace, store, guildState, group, port, env };
}

/** Produces in requests of at most `per` records, so the test's own sends stay under the broker's size limit. */
export async function produceEvents(producer: Producer, topic: string, events: EventEnvelope[], per = 50): Promise<void> {
  for (let i = 0; i < events.length; i += per)
    await producer.send({
      topic,
      messages: events.slice(i, i + per).map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e) })),
    });
}

export interface SeenDelivery {
  partition: number;
  sourceOffset: bigint;
  event: EventEnvelope;
}

/** Follows `deliveries` from its beginning, keeping every record with its source offset. */
export async function followDeliveries(kafka: KafkaClient, topic: string) {
  const seen: SeenDelivery[] = [];
  const reader = await followTopic(kafka, topic, (r) => {
    seen.push({ partition: r.partition, sourceOffset: BigInt(String(r.headers[SOURCE_OFFSET_HEADER])), event: parseEnvelope(r.value) });
  });
  return { seen, ids: () => new Set(seen.map((s) => s.event.id)), stop: () => reader.stop() };
}

/**
 * What a client would see: the edge drops a record at or below the source offset it already passed
 * on that partition (ARCHITECTURE.md, "Duplicates"); everything else reaches the client.
 */
export function asTheEdgeSees(seen: SeenDelivery[]): SeenDelivery[] {
  const passed = new Map<number, bigint>();
  return seen.filter((s) => {
    const last = passed.get(s.partition);
    if (last !== undefined && s.sourceOffset <= last) return false;
    passed.set(s.partition, s.sourceOffset);
    return true;
  });
}

/** Event ids that reach a client more than once, and gateway events that reach it after a later seq of their session. */
export function duplicatesAndReorders(seen: SeenDelivery[]): { duplicates: string[]; outOfOrder: string[] } {
  const count = new Map<string, number>();
  const highest = new Map<string, number>();
  const outOfOrder: string[] = [];
  for (const { partition, event } of asTheEdgeSees(seen)) {
    count.set(event.id, (count.get(event.id) ?? 0) + 1);
    if (event.seq === undefined) continue;
    // Order is per partition (per guild, really): a session's seqs interleave across partitions.
    const session = `${partition}:${event.shard}:${event.session_id}`;
    const before = highest.get(session);
    if (before !== undefined && event.seq <= before) outOfOrder.push(event.id);
    else highest.set(session, event.seq);
  }
  return { duplicates: [...count].filter(([, n]) => n > 1).map(([id]) => id), outOfOrder };
}

export async function storedIds(store: MessageStore, events: EventEnvelope[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < events.length; i += 100) {
    const rows = await Promise.all(
      events.slice(i, i + 100).map(async (e) => {
        const d = e.d as { id: string; channel_id: string };
        return (await store.getMessage(d.channel_id, d.id)) ? e.id : undefined;
      }),
    );
    for (const r of rows) if (r !== undefined) found.add(r);
  }
  return found;
}

export async function readyz(port: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

export type { CqlClient };

/**
 * What a fanout integration file shares: a Kafka client, admin and an idempotent guild-keyed
 * producer opened before its tests, and whatever the tests start (role processes, keyspaces,
 * followers) torn down after them. Call once at the top of a `describe`.
 */
export function fanoutTestbed() {
  const testbed = {
    kafka: undefined as unknown as KafkaClient,
    admin: undefined as unknown as Admin,
    producer: undefined as unknown as Producer,
    processes: [] as RoleProcess[],
    keyspaces: [] as { client: CqlClient; keyspace: string }[],
    stops: [] as (() => Promise<void>)[],
  };
  beforeAll(async () => {
    testbed.kafka = testKafka();
    testbed.admin = testbed.kafka.admin();
    await testbed.admin.connect();
    testbed.producer = testbed.kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await testbed.producer.connect();
  });
  afterAll(async () => {
    await Promise.all(testbed.processes.map((p) => p.kill('SIGKILL')));
    for (const stop of testbed.stops) await stop();
    await testbed.producer.disconnect();
    await testbed.admin.disconnect();
    for (const k of testbed.keyspaces) await dropKeyspace(k.client, k.keyspace);
  });
  return testbed;
}
