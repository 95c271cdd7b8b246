import { z } from 'zod';
import { env, loadEnv } from '../config.ts';

export const kafkaEnv = {
  KAFKA_BROKERS: env.hostPorts('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: env.string('guildcast'),
  /**
   * Which implementation of the Kafka seam (core/kafka/types.ts) createKafka builds; both pass the
   * same contract tests. Unset, each role runs on the one measured best for it (ARCHITECTURE.md, "Kafka seam").
   */
  KAFKA_CLIENT: z
    .enum(['kafkajs', 'platformatic'])
    .optional()
    .describe('"kafkajs" or "platformatic"'),
  /** Partitions of the event topics; guild ordering holds only while this stays fixed (see docs/operations.md). */
  KAFKA_EVENT_PARTITIONS: env.int(12, { min: 1, max: 10_000 }),
  KAFKA_RETENTION_HOURS: env.int(72, { min: 1, max: 24 * 365 }),
  /** Starts every topic name, so only the characters Kafka allows in one, and room for the longest suffix within its 249. */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,200}$/)
    .default('guildcast')
    .describe('1 to 200 of a-z, A-Z, 0-9, ".", "_", "-"'),
};

export type KafkaConfig = ReturnType<typeof loadKafkaConfig>;
export const loadKafkaConfig = (source: NodeJS.ProcessEnv = process.env) => loadEnv(kafkaEnv, source);
