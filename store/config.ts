import { z } from 'zod';
import { env, loadEnv } from '../core/config.ts';

/**
 * `SimpleStrategy:1` locally; in production `NetworkTopologyStrategy:dc1=3,dc2=3` (see store/README.md).
 */
const replication = z
  .string()
  .default('SimpleStrategy:1')
  .transform((v, ctx) => {
    const simple = /^SimpleStrategy:(\d+)$/.exec(v);
    if (simple) return { class: 'SimpleStrategy', replication_factor: Number(simple[1]) } as Record<string, string | number>;
    const nts = /^NetworkTopologyStrategy:(.+)$/.exec(v);
    if (nts) {
      const out: Record<string, string | number> = { class: 'NetworkTopologyStrategy' };
      for (const part of nts[1]!.split(',')) {
        const m = /^([\w.-]+)=(\d+)$/.exec(part.trim());
        if (!m) break;
        out[m[1]!] = Number(m[2]);
      }
      if (Object.keys(out).length > 1 && Object.keys(out).length === nts[1]!.split(',').length + 1) return out;
    }
    ctx.addIssue({ code: 'custom', message: 'bad replication' });
    return z.NEVER;
  })
  .describe('SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>[,<dc>=<rf>...]');

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
  /** In-flight statements per write batch; bounded so one batch cannot flood the coordinator. */
  STORE_WRITE_CONCURRENCY: env.int(64, { min: 1, max: 2048 }),
};

export type StoreConfig = ReturnType<typeof loadStoreConfig>;
export const loadStoreConfig = (source: NodeJS.ProcessEnv = process.env) => loadEnv(storeEnv, source);
