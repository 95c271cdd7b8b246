import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCqlClient, type CqlClient } from '../cql/client.ts';
import { migrate } from './migrate.ts';
import { migrations } from './migrations.ts';
import { localStoreConfig, uniqueName } from '../../test/support.ts';

describe('migration runner against the real Cassandra', () => {
  let client: CqlClient;
  const keyspace = uniqueName('migrate').toLowerCase();
  const replication = { class: 'SimpleStrategy', replication_factor: 1 };
  beforeAll(async () => {
    client = createCqlClient(localStoreConfig);
    await client.connect();
  });
  afterAll(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await client.shutdown();
  });

  it('applies every migration once, and nothing on a second run', async () => {
    expect(await migrate(client, { keyspace, replication })).toEqual(migrations.map((m) => m.id));
    expect(await migrate(client, { keyspace, replication })).toEqual([]);
    const recorded = (await client.execute(`SELECT id FROM ${keyspace}.schema_migrations`)).rows.map((r) => r.id);
    expect(recorded.sort()).toEqual(migrations.map((m) => m.id).sort());
  });

  it('applies a later migration on top of an existing schema', async () => {
    const extra = { id: '9999_probe', description: 'test', statements: (ks: string) => [`CREATE TABLE IF NOT EXISTS ${ks}.probe (k int PRIMARY KEY, v text)`] };
    expect(await migrate(client, { keyspace, replication, migrations: [...migrations, extra] })).toEqual(['9999_probe']);
  });

  it('writes and reads a message row through the schema', async () => {
    await migrate(client, { keyspace, replication });
    const params = [1n, 1, 2n, 'hello', 3n];
    await client.execute(`INSERT INTO ${keyspace}.messages (channel_id, bucket, message_id, content, author_id) VALUES (?, ?, ?, ?, ?)`, params, { prepare: true });
    const row = (await client.execute(`SELECT content, author_id FROM ${keyspace}.messages WHERE channel_id = ? AND bucket = ? AND message_id = ?`, [1n, 1, 2n], { prepare: true })).first();
    expect(row.content).toBe('hello');
    expect(row.author_id).toBe(3n);
  });
});
