import type { Logger } from '../logger.ts';
import type { KafkaConfig } from './config.ts';
import { kafkajsClient, type KafkajsOptions } from './kafkajs/client.ts';
import type { KafkaClient } from './types.ts';

export type { KafkaClient } from './types.ts';

/**
 * The one entry every role, tool and test gets its Kafka client from: the seam of types.ts,
 * implemented on kafkajs today (kafkajs/). Roles see only the seam, so another client library can
 * be put behind it (ARCHITECTURE.md, "Kafka seam") without touching them.
 */
export function createKafka(
  config: Pick<KafkaConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
  logger: Logger,
  /** Options of the kafkajs implementation; tests route connections through a `socketFactory` they can cut. */
  options: KafkajsOptions = {},
): KafkaClient {
  return kafkajsClient({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger }, options);
}
export type { KafkajsOptions, SocketFactory } from './kafkajs/client.ts';
