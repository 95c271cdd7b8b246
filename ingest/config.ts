import { z } from 'zod';
import { atMost, env, loadEnv, type ConfigProblem } from '../core/config.ts';
import { isSnowflake } from '../core/discord/snowflake.ts';
import { kafkaEnv } from '../core/kafka/config.ts';
import type { KafkaClientName } from '../core/kafka/client.ts';

/** Discord's largest bots run a few thousand shards; this bounds the id list a typo can expand to. */
const MAX_SHARDS = 100_000;

const shardIds = z
  .string()
  .regex(/^\s*\d{1,6}(\s*-\s*\d{1,6})?(\s*,\s*\d{1,6}(\s*-\s*\d{1,6})?)*\s*$/)
  .transform(parseShardIds)
  .pipe(z.array(z.number().int().min(0).max(MAX_SHARDS - 1)).min(1))
  .optional()
  .describe(`shard ids below ${MAX_SHARDS} like "0,2,5" or "0-3" (ascending ranges), or unset for all shards`);

/**
 * The Kafka client ingest runs on when KAFKA_CLIENT is unset. Ingest is a producer bound by its
 * own CPU, two fifths of which kafkajs spent encoding records (Buffer growth, a JavaScript CRC);
 * on @platformatic/kafka the role carried 1.2-1.5x the messages per second (bench/README.md).
 */
export const INGEST_KAFKA_CLIENT: KafkaClientName = 'platformatic';

/** The ingest role's settings (ingest/README.md has the table). */
export const ingestEnv = {
  ...kafkaEnv,
  /** Bot token for the gateway; unset disables the gateway side (HTTP ingest only). */
  DISCORD_TOKEN: env.optionalString(),
  /** REST base for GET /gateway/bot, e.g. a simulator's `http://127.0.0.1:PORT/api`. */
  DISCORD_API_BASE: env.url('https://discord.com/api'),
  DISCORD_INTENTS: env.int(0, { min: 0, max: 2 ** 31 - 1 }),
  /** Total shards across every ingest process; 0 takes Discord's recommendation. */
  INGEST_SHARD_COUNT: env.int(0, { min: 0, max: MAX_SHARDS }),
  INGEST_SHARD_IDS: shardIds,
  INGEST_SHARDING: env.oneOf(['simple', 'worker'] as const, 'simple'),
  INGEST_SHARDS_PER_WORKER: env.int(4, { min: 1, max: 1000 }),
  /** Records buffered (queued + in flight) before the shards stop reading. */
  INGEST_BUFFER_MAX: env.int(20_000, { min: 10, max: 10_000_000 }),
  INGEST_BUFFER_MAX_BYTES: env.int(64 * 1024 * 1024, { min: 64 * 1024, max: 2 ** 31 - 1 }),
  INGEST_BATCH_MAX: env.int(1000, { min: 1, max: 100_000 }),
  /**
   * How long the oldest queued record may wait for a fuller batch. 0 (the default): none. The
   * publisher keeps one request in flight, and everything that arrives meanwhile goes out in the
   * next one, so batches grow with the load by themselves; a linger only delays each record when
   * the pipe is idle (issue 14: ingest never idles waiting on a single request).
   */
  INGEST_LINGER_MS: env.duration(0, { max: 10_000 }),
  INGEST_COMPRESSION: env.oneOf(['none', 'gzip'] as const, 'none'),
  INGEST_CHECKPOINT_INTERVAL_MS: env.duration(1000, { min: 10, max: 600_000 }),
  /**
   * At shutdown, how long to wait for Kafka to acknowledge the buffer; the rest is replayed after a
   * restart. At most 40 s: the process gives its whole shutdown 45 s (ingest/main.ts), and the
   * shards and final checkpoints need the rest.
   */
  INGEST_SHUTDOWN_FLUSH_MS: env.duration(20_000, { max: 40_000 }),
  /** Waits between attempts to reach the Discord gateway at start-up (full-jitter exponential backoff). */
  INGEST_CONNECT_RETRY_MIN_MS: env.duration(1_000, { min: 10, max: 600_000 }),
  INGEST_CONNECT_RETRY_MAX_MS: env.duration(60_000, { min: 10, max: 600_000 }),
  /** Port for HTTP ingest when it runs on its own (the api/all roles mount the plugin instead); 0 = ephemeral. */
  INGEST_HTTP_PORT: env.port(8081),
  INGEST_HTTP_HOST: env.string('0.0.0.0'),
  /** Comma-separated accepted tokens (`Authorization: Bot <token>`); unset disables HTTP ingest. */
  INGEST_HTTP_TOKEN: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string()).min(1))
    .optional()
    .describe('a comma-separated list of tokens, or unset'),
  /** Requests per token per window. */
  INGEST_HTTP_RATE_LIMIT: env.int(50, { min: 1, max: 1_000_000 }),
  INGEST_HTTP_RATE_WINDOW_MS: env.duration(1000, { min: 100, max: 3_600_000 }),
  /** Snowflake worker id (0..31) of this process, so several HTTP ingest processes never mint the same id. */
  INGEST_HTTP_WORKER_ID: env.int(0, { min: 0, max: 31 }),
  INGEST_HTTP_AUTHOR_ID: z.string().refine(isSnowflake).default('1').describe('a decimal snowflake (below 2^64)'),
  INGEST_HTTP_AUTHOR_NAME: env.string('guildcast'),
};

export type IngestConfig = ReturnType<typeof loadIngestConfig>;
export const loadIngestConfig = (source: NodeJS.ProcessEnv = process.env) =>
  loadEnv(ingestEnv, source, [atMost('INGEST_CONNECT_RETRY_MIN_MS', 'INGEST_CONNECT_RETRY_MAX_MS'), shardsWithinCount]);

/** With a fixed shard count, this process's ids must be shards that exist. */
function shardsWithinCount(config: { INGEST_SHARD_IDS?: number[] | undefined; INGEST_SHARD_COUNT: number }): ConfigProblem | undefined {
  const highest = config.INGEST_SHARD_IDS?.at(-1);
  if (highest === undefined || config.INGEST_SHARD_COUNT === 0 || highest < config.INGEST_SHARD_COUNT) return undefined;
  return { variable: 'INGEST_SHARD_IDS', expected: `ids below INGEST_SHARD_COUNT (${config.INGEST_SHARD_COUNT})`, got: config.INGEST_SHARD_IDS!.join(',') };
}

function parseShardIds(text: string): number[] {
  const ids = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to] = part.split('-').map((s) => Number(s.trim()));
    // Past the bound is refused anyway; stopping there keeps a typo like 0-999999 cheap.
    for (let id = from!; id <= Math.min(to ?? from!, MAX_SHARDS); id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
