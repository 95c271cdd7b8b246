import { atMost, env, loadEnv } from '../core/config.ts';
import { kafkaEnv } from '../core/kafka/config.ts';
import type { KafkaClientName } from '../core/kafka/client.ts';
import { storeEnv } from '../store/config.ts';

/**
 * The Kafka client fanout runs on when KAFKA_CLIENT is unset. In three alternated pairs of
 * broadcast e2e trials its hop (received → persisted) and its CPU were lower on
 * @platformatic/kafka than on kafkajs in every pair; sharded, it was as fast for a little less CPU,
 * and it drains a backlog no slower. Every fanout failure test passes on both (bench/README.md,
 * the seventh #14 session).
 */
export const FANOUT_KAFKA_CLIENT: KafkaClientName = 'platformatic';

export const fanoutEnv = {
  ...kafkaEnv,
  ...storeEnv,
  FANOUT_GROUP_ID: env.string('guildcast-fanout'),
  /** Records written (and then delivered and committed) together; a kafkajs batch is cut into chunks of this size. */
  FANOUT_CHUNK_SIZE: env.int(500, { min: 1, max: 10_000 }),
  /** Partitions this process works on at the same time (each waits on the store, then on Kafka). */
  FANOUT_PARTITIONS_CONCURRENTLY: env.int(12, { min: 1, max: 1000 }),
  /**
   * Offset commits are at least this far apart (one request for every partition finished meanwhile,
   * off the chunk's path); a crash repeats about this much more work. With 0, a commit goes as
   * soon as the previous one returned: at 200 msg/s the broker took 120–145 OffsetCommit requests
   * a second from fanout, a sixth of all its requests (#14's ninth session); 100 (the default)
   * makes that about ten. What a fanout and edge crash together repeat stays within the edge's
   * lookback while a partition carries fewer than EDGE_FEED_LOOKBACK − FANOUT_CHUNK_SIZE records
   * (500 by default) in this interval (ARCHITECTURE.md, delivery guarantees).
   */
  FANOUT_COMMIT_INTERVAL_MS: env.duration(100, { min: 0, max: 60_000 }),
  FANOUT_RETRY_MIN_MS: env.duration(200, { min: 10, max: 60_000 }),
  FANOUT_RETRY_MAX_MS: env.duration(5_000, { min: 10, max: 600_000 }),
  /** Unexpected (not "unavailable") store errors are retried this often before the records are dead-lettered. */
  FANOUT_MAX_UNEXPECTED_FAILURES: env.int(5, { min: 1, max: 1000 }),
  FANOUT_LAG_SAMPLE_MS: env.duration(5_000, { min: 100, max: 600_000 }),
  FANOUT_SHUTDOWN_TIMEOUT_MS: env.duration(30_000, { min: 1_000, max: 600_000 }),
  /** Health and metrics HTTP port; 0 picks a free one. */
  FANOUT_HTTP_PORT: env.port(9101),
  FANOUT_HTTP_HOST: env.string('127.0.0.1'),
};

export type FanoutConfig = ReturnType<typeof loadFanoutConfig>;
export const loadFanoutConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadEnv(fanoutEnv, source, [atMost('FANOUT_RETRY_MIN_MS', 'FANOUT_RETRY_MAX_MS')]);
