import { randomBytes } from 'node:crypto';
import { createKafka, type KafkaClient } from '../core/kafka/client.ts';
import { loadKafkaConfig } from '../core/kafka/config.ts';
import { silentLogger } from '../core/logger.ts';
import { createCqlClient, type CqlClient } from '../store/cql/client.ts';
import { migrate } from '../store/schema/migrate.ts';

/** Integration tests share one Kafka and one Cassandra: each test gets names nobody else uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

// The same variables as the roles read, so the suite can be pointed at another broker (e.g. a Kafka 4.x one).
export const localKafkaConfig = { ...loadKafkaConfig(), KAFKA_CLIENT_ID: 'guildcast-test' };
export const localStoreConfig = {
  CASSANDRA_CONTACT_POINTS: ['127.0.0.1:9042'],
  CASSANDRA_LOCAL_DC: 'datacenter1',
  CASSANDRA_USERNAME: undefined,
  CASSANDRA_PASSWORD: undefined,
};

export function testKafka(): KafkaClient {
  return createKafka(localKafkaConfig, silentLogger);
}

/** A fresh keyspace with the project's schema; drop it with `dropKeyspace` when done. */
export async function testKeyspace(prefix = 'test'): Promise<{ client: CqlClient; keyspace: string }> {
  const client = createCqlClient(localStoreConfig);
  await client.connect();
  const keyspace = uniqueName(prefix).toLowerCase();
  await migrate(client, { keyspace, replication: { class: 'SimpleStrategy', replication_factor: 1 } });
  return { client, keyspace };
}

export async function dropKeyspace(client: CqlClient, keyspace: string): Promise<void> {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
