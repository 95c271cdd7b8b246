import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from '../core/kafka/types.ts';
import { startGatewaySimulator, type GatewaySimulator } from '../infra/discord-sim/index.ts';
import { partitionFor } from '../core/events/partition.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { Registry } from '../core/metrics.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { loadIngestConfig } from './config.ts';
import { startIngest, type IngestRole } from './role.ts';
import { followTopic } from './test-kafka.ts';
import { isConnectionDispatch } from '../core/events/connection-events.ts';

const kafka = testKafka();
const PARTITIONS = 8;

// The worker-thread strategy runs in the child-process test (restart.int.test.ts), as in production.
describe.each(['simple'] as const)('gateway → Kafka with %s sharding', (sharding) => {
  let sim: GatewaySimulator;
  let ingest: IngestRole;
  let reader: Awaited<ReturnType<typeof followTopic>>;
  const prefix = uniqueName(`ingest-${sharding}`);

  beforeAll(async () => {
    sim = await startGatewaySimulator({ shardCount: 4, guilds: 60, seed: 7, logger: silentLogger });
    const config = loadIngestConfig({
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: String(PARTITIONS),
      DISCORD_TOKEN: sim.token,
      DISCORD_API_BASE: sim.apiBase,
      INGEST_SHARD_COUNT: '4',
      INGEST_SHARDING: sharding,
      INGEST_SHARDS_PER_WORKER: '2',
    });
    ingest = await startIngest(config, { logger: silentLogger, registry: new Registry() });
    await ingest.ready();
    reader = await followTopic(kafka, topicNames(config).events);
  });
  afterAll(async () => {
    await ingest?.close();
    await reader?.stop();
    await sim?.close();
  });

  it('publishes every dispatch once, each guild in order on its partition', async () => {
    const total = 2000;
    sim.startTraffic({ ratePerSecond: 1000, total, contentBytes: { min: 20, max: 400 } });
    await sim.trafficDone();
    const sent = sim.sent;
    const expected = new Set(sent.filter((s) => !isConnectionDispatch(s.t)).map((s) => `gw:${s.shard}:${s.sessionId}:${s.seq}`));
    await eventually('every dispatch in Kafka', () => (reader.records.length >= expected.size ? true : undefined), 120_000);

    const events = reader.events();
    const ids = events.map((e) => e.event.id);
    expect(new Set(ids)).toEqual(expected);
    expect(ids.length).toBe(expected.size);
    expect(new Set(sent.map((s) => s.shard))).toEqual(new Set([0, 1, 2, 3]));

    const byGuild = new Map<string, { partition: number; seq: number; sessionId: string }[]>();
    for (const { partition, event } of events) {
      if (!event.guild_id) continue;
      expect(partition).toBe(partitionFor(BigInt(event.guild_id), PARTITIONS));
      const list = byGuild.get(event.guild_id) ?? [];
      list.push({ partition, seq: event.seq!, sessionId: event.session_id! });
      byGuild.set(event.guild_id, list);
    }
    expect(byGuild.size).toBe(sim.guildIds.length);
    for (const [guild, received] of byGuild) {
      const original = sent.filter((s) => s.guildId === guild).map((s) => `${s.sessionId}:${s.seq}`);
      expect(received.map((r) => `${r.sessionId}:${r.seq}`)).toEqual(original);
    }
    const message = events.find((e) => e.event.type === 'MESSAGE_CREATE')!.event;
    const original = sent.find((s) => s.sessionId === message.session_id && s.seq === message.seq)!;
    expect(message.d).toEqual(original.d);
    expect(message.channel_id).toBe(original.channelId);
  });
});

describe('topics', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('creates the events, dead-letter and compacted checkpoint topics', async () => {
    const prefix = uniqueName('ingest-topics');
    const config = loadIngestConfig({ KAFKA_TOPIC_PREFIX: prefix, INGEST_HTTP_TOKEN: 't', INGEST_HTTP_PORT: '0', INGEST_HTTP_HOST: '127.0.0.1' });
    const ingest = await startIngest(config, { logger: silentLogger, registry: new Registry() });
    await ingest.close();
    const names = topicNames(config);
    expect((await admin.topicConfigs(names.ingestCheckpoints, ['cleanup.policy']))['cleanup.policy']).toBe('compact');
    const existing = await admin.listTopics();
    expect(existing).toEqual(expect.arrayContaining([names.events, names.deadLetter, names.ingestCheckpoints]));
  });
});
