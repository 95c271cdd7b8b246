import type { CqlClient } from '../cql/client.ts';
import { migrations, type Migration } from './migrations.ts';

export interface MigrateOptions {
  keyspace: string;
  replication: Record<string, string | number>;
  /** Defaults to the project's migrations; tests pass their own. */
  migrations?: readonly Migration[];
}

/**
 * Creates the keyspace and applies, in order, the migrations not yet recorded in
 * `<keyspace>.schema_migrations`. Every statement is itself idempotent (`IF NOT EXISTS`), so two
 * processes migrating at once, or a run interrupted between a statement and its record, are safe.
 * Returns the ids it applied.
 */
export async function migrate(client: CqlClient, options: MigrateOptions): Promise<string[]> {
  const ks = options.keyspace;
  const list = options.migrations ?? migrations;
  await client.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${cqlMap(options.replication)} AND durable_writes = true`,
  );
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (id text PRIMARY KEY, description text, applied_at timestamp)`,
  );
  const done = new Set((await client.execute(`SELECT id FROM ${ks}.schema_migrations`)).rows.map((r) => r.id as string));
  const applied: string[] = [];
  for (const m of list) {
    if (done.has(m.id)) continue;
    for (const statement of m.statements(ks)) await client.execute(statement);
    await client.execute(`INSERT INTO ${ks}.schema_migrations (id, description, applied_at) VALUES (?, ?, ?)`, [
      m.id,
      m.description,
      new Date(),
    ]);
    applied.push(m.id);
  }
  return applied;
}

function cqlMap(map: Record<string, string | number>): string {
  return `{${Object.entries(map)
    .map(([k, v]) => `'${k.replace(/'/g, "''")}': '${String(v).replace(/'/g, "''")}'`)
    .join(', ')}}`;
}
