import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketShardEvents } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { edgeGatewayClient } from '../test/discord-client.ts';
import type { Producer } from '../core/kafka/types.ts';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { createKafka, kafkaClientNames } from '../core/kafka/client.ts';
import { kafkaGate } from '../core/kafka/testing.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { ensureTopics, topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry, type Registry } from '../core/metrics.ts';
import { eventually, localKafkaConfig, testKafka, uniqueName } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { guildOnShard, messageEvent, metricValue, RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';

/**
 * Item 2 of issue 11: the edge's deliveries consumer restarting (here: the client restarting it after
 * the edge lost Kafka) must resume from the edge's own positions, never from "latest"; and when
 * those positions fell below the log start, the sessions get op 9 instead of a silent gap.
 *
 * Only the edge loses Kafka: the test cuts its client's connections (`kafkaGate`), on each of the
 * seam's implementations.
 */
describe.each(kafkaClientNames)('the edge resuming its deliveries after its consumer restarts (%s)', (client) => {
  const kafka = testKafka();
  const guilds = [0, 1, 2, 3].map((p) => guildOnShard(p, 4, 900 + p)); // one per partition
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  async function setup() {
    const prefix = uniqueName(`edge-feed-${client}`);
    const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await ensureTopics(admin, [
      { name: topics.deliveries, partitions: 4, retentionMs: 3_600_000 },
      { name: topics.deadLetter, partitions: 1, retentionMs: 3_600_000 },
    ]);
    const gate = kafkaGate();
    const config = loadEdgeConfig({
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '4',
      EDGE_PORT: '0',
      EDGE_HOST: '127.0.0.1',
      EDGE_NODE_ID: prefix,
      EDGE_TOKEN_SECRET: TEST_SECRET,
      EDGE_DRAIN_GRACE_MS: '200',
    });
    const registry: Registry = createRegistry('edge-feed', { defaults: false });
    const edge: Edge = await startEdge(config, { logger: silentLogger, registry, kafka: createKafka({ ...localKafkaConfig, KAFKA_CLIENT: client }, silentLogger, { onSocket: gate.onSocket }) });
    cleanups.push(() => edge.close());
    await edge.ready();
    const producer: Producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    let sourceOffset = 0;
    const produce = async (events: EventEnvelope[]) => {
      await producer.send({
        topic: topics.deliveries,
        messages: events.map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e), headers: { [SOURCE_OFFSET_HEADER]: String(sourceOffset++) } })),
      });
    };
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => messageEvent(guilds[(from + i) % 4]!, from + i));
    /** Cuts the edge off Kafka until its consumer has crashed and is being restarted, runs `during`, then reconnects. */
    const outage = async (during: () => Promise<void>) => {
      gate.close();
      await eventually('the edge unready while its consumer is cut off', () => (edge.feedProblem() !== undefined ? true : undefined), 60_000);
      await eventually('the crashed consumer restarting', async () => ((await metricValue(registry, 'guildcast_edge_consumer_restarts_total')) >= 1 ? true : undefined), 120_000);
      await during();
      gate.open();
      await eventually('the consumer reading again', () => (edge.feedProblem() === undefined ? true : undefined), 120_000);
    };
    return { edge, registry, topics, admin, produce, batch, outage };
  }

  it('gives a connected @discordjs/ws client every message once, in order, across a Kafka cut that restarts the consumer', async () => {
    const { edge, registry, produce, batch, outage } = await setup();
    const token = await tokens.mint({ subject: 'feed-outage', guilds, ttlSeconds: 900 });
    const manager = edgeGatewayClient({ edgeBase: edge.url, token });
    cleanups.push(async () => manager.destroy());
    const received: GatewayDispatchPayload[] = [];
    let readies = 0;
    manager.on(WebSocketShardEvents.Dispatch, (payload) => void received.push(payload));
    manager.on(WebSocketShardEvents.Ready, () => void readies++);
    await manager.connect();
    await eventually('READY', () => (readies === 1 ? true : undefined));
    const messages = () => received.filter((p) => p.t === 'MESSAGE_CREATE').map((p) => (p.d as unknown as { n: number; guild_id: string }));

    await produce(batch(0, 100));
    await eventually('the first 100', () => (messages().length >= 100 ? true : undefined));
    await outage(async () => {
      // Produced while the edge cannot read: only its own positions bring these to the client.
      for (let i = 100; i < 400; i += 100) await produce(batch(i, 100));
    });
    await produce(batch(400, 100));
    await eventually('all 500 messages', () => (messages().length >= 500 ? true : undefined), 60_000).catch(() => undefined);

    const got = messages().map((m) => m.n);
    const unique = new Set(got);
    const figures = { produced: 500, received: got.length, missing: 500 - unique.size, duplicates: got.length - unique.size, restarts: await metricValue(registry, 'guildcast_edge_consumer_restarts_total') };
    console.log('edge consumer restart (issue 11 item 2):', JSON.stringify(figures));
    expect(figures.missing).toBe(0);
    expect(figures.duplicates).toBe(0);
    for (const guild of guilds) {
      const want = Array.from({ length: 500 }, (_, n) => n).filter((n) => n % 4 === guilds.indexOf(guild));
      expect(messages().filter((m) => m.guild_id === guild).map((m) => m.n)).toEqual(want);
    }
    // The same session all along: nothing was lost, so nothing was invalidated.
    expect(readies).toBe(1);
    expect(await metricValue(registry, 'guildcast_edge_deliveries_lost_total')).toBe(0);
  });

  it('sends op 9 to the sessions whose deliveries fell below the log start, and counts them', async () => {
    const { edge, registry, topics, admin, produce, batch, outage } = await setup();
    const token = await tokens.mint({ subject: 'feed-lost', guilds: [guilds[1]!], ttlSeconds: 900 });
    const other = await tokens.mint({ subject: 'feed-kept', guilds: [guilds[2]!], ttlSeconds: 900 });
    const client = new RawClient(edge.gatewayUrl);
    const bystander = new RawClient(edge.gatewayUrl);
    cleanups.push(async () => [client, bystander].forEach((c) => c.close()));
    await Promise.all([client.opened, bystander.opened]);
    client.identify(token);
    bystander.identify(other);
    await Promise.all([client.ready(), bystander.ready()]);

    await produce(batch(0, 40));
    await eventually('the first messages', () => (client.dispatches('MESSAGE_CREATE').length >= 10 ? true : undefined));
    await outage(async () => {
      // Only guild 1's partition loses what the edge had not read yet; guild 2's is produced to after.
      await produce(Array.from({ length: 30 }, (_, i) => messageEvent(guilds[1]!, 1_000 + i)));
      const high = (await admin.topicOffsets(topics.deliveries)).find((o) => o.partition === 1)!.high;
      await admin.deleteRecords(topics.deliveries, [{ partition: 1, offset: high }]);
      await produce(Array.from({ length: 30 }, (_, i) => messageEvent(guilds[2]!, 2_000 + i)));
    });

    const invalid = await eventually('op 9 for the session that lost deliveries', () => client.frames.find((f) => f.op === 9), 60_000).catch(() => undefined);
    await eventually('the bystander getting its 30', () => (bystander.dispatches('MESSAGE_CREATE').length >= 10 + 30 ? true : undefined), 60_000).catch(() => undefined);
    const figures = {
      lostRecords: await metricValue(registry, 'guildcast_edge_deliveries_lost_total'),
      invalidated: await metricValue(registry, 'guildcast_edge_sessions_invalidated_total'),
      op9: invalid !== undefined,
      afterCutOfLostGuild: client.dispatches('MESSAGE_CREATE').filter((f) => f.d.n >= 1_000).length,
      bystander: bystander.dispatches('MESSAGE_CREATE').length,
    };
    console.log('edge deliveries below the log start (issue 11 item 2):', JSON.stringify(figures));
    expect(invalid?.d).toBe(false);
    expect(figures.lostRecords).toBe(30);
    expect(figures.invalidated).toBe(1);
    // A partition that lost nothing keeps its sessions: the bystander missed nothing and stays.
    expect(bystander.dispatches('MESSAGE_CREATE').map((f) => f.d.n)).toEqual([
      ...Array.from({ length: 40 }, (_, n) => n).filter((n) => n % 4 === 2),
      ...Array.from({ length: 30 }, (_, i) => 2_000 + i),
    ]);
    expect(bystander.frames.some((f) => f.op === 9)).toBe(false);

    // The client does what libraries do on op 9: IDENTIFY again, and receives from then on.
    const again = new RawClient(edge.gatewayUrl);
    cleanups.push(async () => again.close());
    await again.opened;
    again.identify(token);
    await again.ready();
    await produce([messageEvent(guilds[1]!, 5_000)]);
    await eventually('a message on the new session', () => (again.dispatches('MESSAGE_CREATE').some((f) => f.d.n === 5_000) ? true : undefined));
  });
});
