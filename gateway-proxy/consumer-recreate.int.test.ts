import { afterEach, describe, expect, it } from 'vitest';
import { NonRetriableError } from '../core/kafka/types.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { serializeEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { ensureTopics } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { startDeliveryConsumer, type DeliveryConsumer } from './consumer.ts';
import { guildOnShard, messageEvent, metricValue } from './edge.test-support.ts';
import { createEdgeMetrics } from './metrics.ts';

/**
 * Item 2 of issue 11, the other restart: kafkajs gives up on a consumer (`restart: false`, here a
 * non-retriable error out of the handler), so the edge recreates it, from its own positions; and
 * when that keeps failing, the process is told to stop instead of idling behind a green /readyz.
 */
describe('the deliveries consumer kafkajs gave up on', () => {
  const kafka = testKafka();
  const guild = guildOnShard(0, 1, 600);
  const consumers: DeliveryConsumer[] = [];
  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.stop().catch(() => {});
  });

  async function topicWithProducer() {
    const topic = uniqueName('edge-recreate.deliveries');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: 2, retentionMs: 3_600_000 }, { name: `${topic}.dlq`, partitions: 1, retentionMs: 3_600_000 }]);
    await admin.disconnect();
    const producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();
    let sourceOffset = 0;
    const produce = (events: EventEnvelope[]) =>
      producer.send({ topic, messages: events.map((e) => ({ key: e.guild_id!, value: serializeEnvelope(e), headers: { [SOURCE_OFFSET_HEADER]: String(sourceOffset++) } })) });
    return { topic, produce, close: () => producer.disconnect() };
  }

  it('is recreated from the edge\'s positions: every event once, in order, the failed one again', async () => {
    const { topic, produce, close } = await topicWithProducer();
    const registry = createRegistry('edge-recreate', { defaults: false });
    const got: number[] = [];
    let failed = false;
    const fatal: Error[] = [];
    const consumer = await startDeliveryConsumer({
      kafka,
      topic,
      deadLetterTopic: `${topic}.dlq`,
      groupId: uniqueName('edge-recreate'),
      metrics: createEdgeMetrics(registry),
      logger: silentLogger,
      onEvent: (event) => {
        const n = (event.d as { n: number }).n;
        if (n === 20 && !failed) {
          failed = true;
          throw new NonRetriableError('the handler failed for good');
        }
        got.push(n);
      },
      onLoss: () => {},
      onFatal: (reason) => void fatal.push(reason),
    });
    consumers.push(consumer);
    await consumer.ready;
    await consumer.want([0, 1]);
    await produce(Array.from({ length: 50 }, (_, n) => messageEvent(guild, n)));
    await eventually('the consumer recreated by the edge', async () => ((await metricValue(registry, 'guildcast_edge_consumer_restarts_total', { by: 'edge' })) >= 1 ? true : undefined));
    await eventually('all 50 events', () => (got.length >= 50 ? true : undefined), 60_000).catch(() => undefined);
    await eventually('reading again', () => (consumer.problem() === undefined ? true : undefined), 60_000);
    await produce(Array.from({ length: 10 }, (_, n) => messageEvent(guild, 50 + n)));
    await eventually('60 events', () => (got.length >= 60 ? true : undefined), 30_000).catch(() => undefined);
    console.log('edge consumer recreated (issue 11 item 2):', JSON.stringify({ received: got.length, unique: new Set(got).size }));
    expect(got).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(fatal).toEqual([]);
    await close();
  });

  it('tells the process to stop when recreating it keeps failing, and is unready meanwhile', async () => {
    const { topic, produce, close } = await topicWithProducer();
    const registry = createRegistry('edge-recreate-fatal', { defaults: false });
    const fatal: Error[] = [];
    const problems = new Set<string>();
    const consumer = await startDeliveryConsumer({
      kafka,
      topic,
      deadLetterTopic: `${topic}.dlq`,
      groupId: uniqueName('edge-recreate-fatal'),
      metrics: createEdgeMetrics(registry),
      logger: silentLogger,
      onEvent: () => {
        throw new NonRetriableError('every event fails');
      },
      onLoss: () => {},
      onFatal: (reason) => void fatal.push(reason),
    });
    consumers.push(consumer);
    await consumer.ready;
    await consumer.want([0, 1]);
    expect(consumer.problem()).toBeUndefined();
    await produce([messageEvent(guild, 1)]);
    const sampler = setInterval(() => {
      const problem = consumer.problem();
      if (problem) problems.add(problem);
    }, 20);
    await eventually('the process told to stop', () => fatal[0], 120_000).finally(() => clearInterval(sampler));
    expect(fatal[0]!.message).toContain('every event fails');
    expect(consumer.problem()).toBeDefined();
    expect(problems.size).toBeGreaterThan(0);
    expect(await metricValue(registry, 'guildcast_edge_consumer_restarts_total', { by: 'edge' })).toBeGreaterThanOrEqual(5);
    await close();
  });
});
