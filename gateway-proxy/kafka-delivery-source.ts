import { createKafka } from '../core/kafka/client.ts';
import { ensureTopics, standardTopics, topicNames } from '../core/kafka/topics.ts';
import type { KafkaClient } from '../core/kafka/types.ts';
import type { EdgeConfig } from './config.ts';
import { startDeliveryConsumer, type DeliveryConsumer } from './consumer.ts';
import type { DeliverySource, DeliveryTarget } from './delivery-source.ts';
import { feedReplay, type FeedReplay } from './feed-replay.ts';

/**
 * The edge's feed from the `deliveries` topic (consumer.ts: the wanted partitions only, from its
 * own positions, restored on every rejoin, op 9 on loss, redeliveries dropped by source offset,
 * dead letters, fatal after repeated recreation; feed-replay.ts: ranges for RESUMEs, through one
 * consumer of the node's replay group). Creates its topics (deliveries, dead letters) if missing.
 */
export function kafkaDeliverySource(config: EdgeConfig, { kafka }: { kafka?: KafkaClient } = {}): DeliverySource {
  let consumer: DeliveryConsumer | undefined;
  let replays: FeedReplay | undefined;
  const started = () => {
    if (!consumer || !replays) throw new Error('the Kafka delivery source is not started');
    return { consumer, replays };
  };
  return {
    async start(target: DeliveryTarget) {
      const client = kafka ?? createKafka(config, target.logger);
      const names = topicNames(config);
      const admin = client.admin();
      await admin.connect();
      await ensureTopics(admin, standardTopics(config).filter((t) => t.name === names.deliveries || t.name === names.deadLetter), target.logger).finally(() => admin.disconnect());
      consumer = await startDeliveryConsumer({
        kafka: client,
        topic: names.deliveries,
        deadLetterTopic: names.deadLetter,
        groupId: `guildcast-edge-${config.EDGE_NODE_ID}`,
        lookback: config.EDGE_FEED_LOOKBACK,
        ...target,
      });
      replays = feedReplay({
        kafka: client,
        topic: names.deliveries,
        groupId: `guildcast-edge-${config.EDGE_NODE_ID}-replay`,
        partitionCount: consumer.partitionCount,
        metrics: target.metrics,
        logger: target.logger,
      });
    },
    ready: async () => consumer?.ready,
    problem: () => (consumer ? consumer.problem() : 'not started'),
    partitionCount: () => started().consumer.partitionCount,
    want: async (partitions) => started().consumer.want(partitions),
    release: (partitions) => started().consumer.release(partitions),
    positions: (partitions) => started().consumer.positions(partitions),
    replay: async (partition, from, to, onEvent) => started().replays.replay(partition, from, to, onEvent),
    async stop() {
      await Promise.allSettled([consumer?.stop(), replays?.stop()]);
    },
  };
}
