import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envTable, envVariables } from './env-table.ts';

describe('the README configuration table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('is the one generated from the schemas the roles validate with', () => {
    const block = /<!-- env-table:start[^>]*-->\n([\s\S]*?)\n<!-- env-table:end -->/.exec(readme)?.[1];
    expect(block, 'README.md lost its env-table markers').toBeDefined();
    expect(block).toBe(envTable());
  });

  it('names every variable the roles read', () => {
    const names = envVariables();
    for (const name of ['DISCORD_TOKEN', 'KAFKA_BROKERS', 'CASSANDRA_CONTACT_POINTS', 'FANOUT_GROUP_ID', 'EDGE_TOKEN_SECRET', 'GUILDCAST_PORT']) expect(names).toContain(name);
  });
});
