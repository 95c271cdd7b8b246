import { Kafka, logLevel, type ISocketFactory, type LogEntry } from 'kafkajs';
import type { Logger } from '../logger.ts';
import type { KafkaConfig } from './config.ts';

/**
 * The only place that constructs a kafkajs client. Everything else asks for one here, so the
 * client library can be swapped (see ARCHITECTURE.md: kafkajs is unmaintained) without touching roles.
 */
// Every producer of ours that routes by key names its partitioner; the v2 migration notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export function createKafka(
  config: Pick<KafkaConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
  logger: Logger,
  /** Tests route a process's connections through a `socketFactory` they can cut (ingest's outage test). */
  options: { socketFactory?: ISocketFactory } = {},
): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) log.error(rest, message);
        else if (level === logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
    connectionTimeout: 3000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    ...options,
  });
}
