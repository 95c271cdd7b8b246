import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewaySimulator, type GatewaySimulator } from '../infra/discord-sim/index.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { Registry } from '../core/metrics.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { loadIngestConfig } from './config.ts';
import { startIngest, type IngestRole } from './role.ts';
import { followTopic } from './test-kafka.ts';
import { kafkaClientNames } from '../core/kafka/client.ts';
import { kafkaGate } from '../core/kafka/testing.ts';
import { isConnectionDispatch } from '../core/events/connection-events.ts';

const kafka = testKafka();
const BUFFER_MAX = 300;

describe.each(kafkaClientNames)('Kafka unreachable for a while mid-stream (%s)', (client) => {
  let sim: GatewaySimulator;
  let ingest: IngestRole;
  let registry: Registry;
  const prefix = uniqueName(`ingest-outage-${client}`);

  beforeAll(async () => {
    sim = await startGatewaySimulator({ shardCount: 2, guilds: 20, seed: 5, resumeWindowMs: 300_000, logger: silentLogger });
  });
  afterAll(async () => {
    await ingest?.close();
    await sim?.close();
  });

  it('loses nothing once Kafka is back, and the buffer never passes its bound', async () => {
    const gate = kafkaGate();
    const config = loadIngestConfig({
      KAFKA_CLIENT: client,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '4',
      DISCORD_TOKEN: sim.token,
      DISCORD_API_BASE: sim.apiBase,
      INGEST_SHARD_COUNT: '2',
      INGEST_BUFFER_MAX: String(BUFFER_MAX),
      INGEST_BATCH_MAX: '50',
    });
    registry = new Registry();
    ingest = await startIngest(config, { logger: silentLogger, registry, kafkaOnSocket: gate.onSocket });
    await ingest.ready();
    const events = await followTopic(kafka, topicNames(config).events);

    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, ingest.bufferSize().records)), 5);
    sim.startTraffic({ ratePerSecond: 300, total: 3000, contentBytes: { min: 50, max: 300 } });
    await eventually('traffic flowing into Kafka', () => (events.records.length >= 300 ? true : undefined));

    gate.close();
    const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);
    await eventually('shards paused by backpressure', async () => ((await metric('guildcast_ingest_backpressure_pauses_total')) >= 1 ? true : undefined));
    const sentWhilePaused = sim.sent.length;
    await eventually('the gateway generating more while ingest is cut off', () => (sim.sent.length >= sentWhilePaused + 600 ? true : undefined));
    gate.open();

    await sim.trafficDone();
    const expected = new Set(sim.sent.filter((s) => !isConnectionDispatch(s.t)).map((s) => `gw:${s.shard}:${s.sessionId}:${s.seq}`));
    await eventually('every dispatch in Kafka', () => (new Set(events.events().map((e) => e.event.id)).size >= expected.size ? true : undefined), 150_000);
    clearInterval(sampler);
    await events.stop();

    expect(new Set(events.events().map((e) => e.event.id))).toEqual(expected);
    expect(maxBuffered).toBeLessThanOrEqual(BUFFER_MAX);
    expect(sim.stats().resumes).toBeGreaterThanOrEqual(1);
    expect(await metric('guildcast_ingest_sequence_gaps_total')).toBe(0);
  });
});
