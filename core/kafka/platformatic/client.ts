import type net from 'node:net';
import type { Logger } from '../../logger.ts';
import type { KafkaClient } from '../types.ts';
import { PlatformaticAdmin } from './admin.ts';
import { PlatformaticGroupConsumer } from './consumer.ts';
import { PlatformaticProducer } from './producer.ts';

export interface PlatformaticConnection {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

export interface PlatformaticOptions {
  /** A readiness probe: one quick attempt (2 s to connect, no retries). */
  probe?: boolean;
  /** Tests only: every broker connection once open (createKafka's `onSocket`). */
  onSocket?: (socket: net.Socket) => void;
}

/** Something that reports its broker connections as the library's clients and pools do. */
interface Connecting {
  on(event: 'client:broker:connect' | 'connect', listener: (payload: { connection: { socket: net.Socket } }) => void): unknown;
}

/** What every @platformatic/kafka client of ours is built with (its BaseOptions). */
export interface BaseClientOptions {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  retries: number;
  retryDelay: number;
  /** Never: a missing topic is a deployment error, not something to create with broker defaults. */
  autocreateTopics: false;
  /** Tests only, not a library option: called with each client or pool made, to watch its connections. */
  watch: (client: Connecting, event: 'client:broker:connect' | 'connect') => void;
}

export function baseOptions({ brokers, clientId }: PlatformaticConnection, options: PlatformaticOptions = {}): BaseClientOptions {
  return {
    clientId,
    bootstrapBrokers: brokers,
    // The same budget as the kafkajs client: 3 s to connect, 8 retries of at most a few seconds.
    connectTimeout: options.probe ? 2000 : 3000,
    retries: options.probe ? 0 : 8,
    retryDelay: 250,
    autocreateTopics: false,
    watch: (client, event) => {
      if (options.onSocket) client.on(event, ({ connection }) => options.onSocket!(connection.socket));
    },
  };
}

/** The options as the library takes them (without ours). */
export function libraryOptions({ watch: _, ...options }: BaseClientOptions): Omit<BaseClientOptions, 'watch'> {
  return options;
}

/** The seam implemented on @platformatic/kafka (chosen with KAFKA_CLIENT=platformatic). */
export function platformaticClient(connection: PlatformaticConnection, options: PlatformaticOptions = {}): KafkaClient {
  const base = baseOptions(connection, options);
  const logger = connection.logger.child({ component: 'platformatic-kafka' });
  return {
    producer: (producerOptions) => new PlatformaticProducer(base, producerOptions),
    consumer: (consumerOptions) => new PlatformaticGroupConsumer(base, consumerOptions, logger),
    admin: () => new PlatformaticAdmin(base),
  };
}
