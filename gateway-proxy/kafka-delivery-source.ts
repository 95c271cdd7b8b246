import { createKafka } from '../core/kafka/client.ts';
import { ensureTopics, standardTopics, topicNames } from '../core/kafka/topics.ts';
import type { KafkaClient } from '../core/kafka/types.ts';
import type { EdgeConfig } from './config.ts';
import { startDeliveryConsumer, type DeliveryConsumer } from './consumer.ts';
import type { DeliverySource, DeliveryTarget } from './delivery-source.ts';

/**
 * The edge's feed from the `deliveries` topic (consumer.ts: its own positions per partition,
 * restored on every rejoin, op 9 on loss, redeliveries dropped by source offset, dead letters,
 * fatal after repeated recreation). Creates its topics (deliveries, dead letters) if missing.
 */
export function kafkaDeliverySource(config: EdgeConfig, { kafka }: { kafka?: KafkaClient } = {}): DeliverySource {
  let consumer: DeliveryConsumer | undefined;
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
        ...target,
      });
    },
    ready: async () => consumer?.ready,
    problem: () => (consumer ? consumer.problem() : 'not started'),
    stop: async () => consumer?.stop(),
  };
}
