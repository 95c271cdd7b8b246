import { z } from 'zod';
import { env, loadEnv } from '../core/config.ts';

/** More copies than any cluster has nodes for is a typo, not a plan. */
const MAX_RF = 20;

/**
 * `SimpleStrategy:1` locally; in production `NetworkTopologyStrategy:dc1=3,dc2=3` (see store/README.md).
 */
const replication = z
  .string()
  .default('SimpleStrategy:1')
  .transform((v, ctx) => {
    const simple = /^SimpleStrategy:(\d{1,3})$/.exec(v);
    if (simple && Number(simple[1]) >= 1 && Number(simple[1]) <= MAX_RF)
      return { class: 'SimpleStrategy', replication_factor: Number(simple[1]) } as Record<string, string | number>;
    const nts = /^NetworkTopologyStrategy:(.+)$/.exec(v);
    if (nts) {
      const out: Record<string, string | number> = { class: 'NetworkTopologyStrategy' };
      for (const part of nts[1]!.split(',')) {
        const m = /^([\w.-]+)=(\d{1,3})$/.exec(part.trim());
        if (!m || m[1] === 'class' || Number(m[2]) > MAX_RF) break;
        out[m[1]!] = Number(m[2]);
      }
      const factors = Object.values(out).filter((f) => typeof f === 'number');
      // A data centre may hold no replica, but some must, or every write fails.
      if (factors.length === nts[1]!.split(',').length && factors.some((f) => f > 0)) return out;
    }
    ctx.addIssue({ code: 'custom', message: 'bad replication' });
    return z.NEVER;
  })
  .describe(`SimpleStrategy:<rf 1-${MAX_RF}> or NetworkTopologyStrategy:<dc>=<rf 0-${MAX_RF}>[,<dc>=<rf>...]`);

export const storeEnv = {
  CASSANDRA_CONTACT_POINTS: env.hostPorts('127.0.0.1:9042'),
  CASSANDRA_LOCAL_DC: env.string('datacenter1'),
  CASSANDRA_KEYSPACE: z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9_]{0,47}$/)
    .default('guildcast')
    .describe('a CQL identifier (letter first, then letters, digits, _; at most 48)'),
  CASSANDRA_REPLICATION: replication,
  CASSANDRA_USERNAME: env.optionalString(),
  CASSANDRA_PASSWORD: env.optionalString(),
  /** Write statements in flight per process, across all callers, so concurrent batches cannot flood the coordinator. */
  STORE_WRITE_CONCURRENCY: env.int(64, { min: 1, max: 2048 }),
  /** Driver timeout for each history/message read query. */
  STORE_READ_TIMEOUT_MS: env.duration(2000, { min: 100, max: 60_000 }),
  /** Most (channel, bucket) partitions remembered as empty, per process (about 100 bytes each). */
  STORE_EMPTY_BUCKET_CACHE_SIZE: env.int(100_000, { min: 0, max: 10_000_000 }),
  /** How long an empty partition is trusted: bounds how long another process's backfill stays unseen. */
  STORE_EMPTY_BUCKET_TTL_MS: env.duration(600_000, { min: 1000, max: 86_400_000 }),
  /** Longest an HTTP history request may take before it is answered 503 with Retry-After. */
  STORE_API_DEADLINE_MS: env.duration(5000, { min: 100, max: 60_000 }),
};

export type StoreConfig = ReturnType<typeof loadStoreConfig>;
export const loadStoreConfig = (source: NodeJS.ProcessEnv = process.env) => loadEnv(storeEnv, source);

/** The `createMessageStore` settings a role's configuration determines. */
export function messageStoreSettings(config: StoreConfig) {
  return {
    keyspace: config.CASSANDRA_KEYSPACE,
    writeConcurrency: config.STORE_WRITE_CONCURRENCY,
    readTimeoutMs: config.STORE_READ_TIMEOUT_MS,
    emptyBuckets: { maxEntries: config.STORE_EMPTY_BUCKET_CACHE_SIZE, ttlMs: config.STORE_EMPTY_BUCKET_TTL_MS },
  };
}
