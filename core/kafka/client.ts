import type net from 'node:net';
import type { Logger } from '../logger.ts';
import type { KafkaConfig } from './config.ts';
import { kafkajsClient } from './kafkajs/client.ts';
import { platformaticClient } from './platformatic/client.ts';
import type { KafkaClient } from './types.ts';

export type { KafkaClient } from './types.ts';
export type KafkaClientName = NonNullable<KafkaConfig['KAFKA_CLIENT']>;
export const kafkaClientNames: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

/**
 * The one entry every role, tool and test gets its Kafka client from: the seam of types.ts,
 * implemented on kafkajs (kafkajs/) and on @platformatic/kafka (platformatic/), chosen by
 * KAFKA_CLIENT, else by the role (`roleDefault`; kafkajs when it names none). Roles see only the
 * seam (ARCHITECTURE.md, "Kafka seam").
 */
export interface KafkaClientOptions {
  /** One quick attempt, for readiness checks. */
  probe?: boolean;
  /** Tests only: sees every broker connection either client opens (to stall or cut one: `kafkaGate` in testing.ts). */
  onSocket?: (socket: net.Socket) => void;
  /** The implementation this role runs on when KAFKA_CLIENT is unset. */
  roleDefault?: KafkaClientName;
}

export function createKafka(
  config: Pick<KafkaConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> & Partial<Pick<KafkaConfig, 'KAFKA_CLIENT'>>,
  logger: Logger,
  { roleDefault = 'kafkajs', ...options }: KafkaClientOptions = {},
): KafkaClient {
  const connection = { brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger };
  return (config.KAFKA_CLIENT ?? roleDefault) === 'kafkajs' ? kafkajsClient(connection, options) : platformaticClient(connection, options);
}
