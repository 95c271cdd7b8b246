import net from 'node:net';
import type { Logger } from '../logger.ts';
import type { KafkaConfig } from './config.ts';
import { kafkajsClient, type KafkajsOptions } from './kafkajs/client.ts';
import { platformaticClient } from './platformatic/client.ts';
import type { KafkaClient } from './types.ts';

export type { KafkaClient } from './types.ts';
export type KafkaClientName = KafkaConfig['KAFKA_CLIENT'];
export const kafkaClientNames: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

/**
 * The one entry every role, tool and test gets its Kafka client from: the seam of types.ts,
 * implemented on kafkajs (kafkajs/, the default) and on @platformatic/kafka (platformatic/),
 * chosen by KAFKA_CLIENT. Roles see only the seam (ARCHITECTURE.md, "Kafka seam").
 */
export interface KafkaClientOptions extends KafkajsOptions {
  /** Tests only: sees every broker connection either client opens (to stall or cut one mid-request). */
  onSocket?: (socket: net.Socket) => void;
}

export function createKafka(
  config: Pick<KafkaConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> & Partial<Pick<KafkaConfig, 'KAFKA_CLIENT'>>,
  logger: Logger,
  /**
   * `probe`: one quick attempt, for readiness checks. `socketFactory` (kafkajs only): tests route
   * connections through one they can cut; @platformatic/kafka opens its sockets itself, so asking
   * for one with it is an error rather than a test that silently cuts nothing.
   */
  { onSocket, ...options }: KafkaClientOptions = {},
): KafkaClient {
  const connection = { brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger };
  if ((config.KAFKA_CLIENT ?? 'kafkajs') === 'kafkajs') {
    if (onSocket && !options.socketFactory)
      options.socketFactory = ({ host, port, onConnect }) => {
        const socket = net.connect({ host, port }, onConnect);
        onSocket(socket);
        return socket;
      };
    return kafkajsClient(connection, options);
  }
  if (options.socketFactory) throw new Error('KAFKA_CLIENT=platformatic: a socketFactory (the outage tests\' cut) works only with KAFKA_CLIENT=kafkajs');
  return platformaticClient(connection, { ...(options.probe ? { probe: true } : {}), ...(onSocket ? { onSocket } : {}) });
}
export type { KafkajsOptions, SocketFactory } from './kafkajs/client.ts';
