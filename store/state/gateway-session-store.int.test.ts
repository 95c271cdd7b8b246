import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/logger.ts';
import { dropKeyspace, eventually, testKeyspace } from '../../test/support.ts';
import type { CqlClient } from '../cql/client.ts';
import { createGatewaySessionStore, encodeGatewaySession, type StoredGatewaySession } from './gateway-session-store.ts';

const state = (id: string, epoch: number, seq: number): StoredGatewaySession => ({
  id,
  epoch,
  node: `edge-${epoch}`,
  subject: '1234567890123456789',
  guilds: epoch % 2 === 0 ? '*' : ['81384788765712384', '222078108977594368'],
  shard: [1, 4],
  intents: (1 << 9) | (1 << 15),
  checkpoints: [
    { seq: seq - 1, positions: new Map([[1, { offset: 0n, passed: -1n }]]) },
    { seq, positions: new Map([[1, { offset: 9_007_199_254_740_993n, passed: 42n }], [5, { offset: 7n, passed: 6n }]]) },
  ],
});

describe('gateway sessions in Cassandra', () => {
  let client: CqlClient;
  let keyspace: string;
  const warnings: unknown[] = [];
  const logger = { warn: (obj: unknown) => void warnings.push(obj) } as unknown as Logger;

  beforeAll(async () => {
    ({ client, keyspace } = await testKeyspace('sessions'));
  });
  afterAll(async () => {
    await dropKeyspace(client, keyspace);
  });

  it('loads the newest epoch as saved (bigints beyond 2^53 intact); an older epoch saved later does not hide it', async () => {
    const store = createGatewaySessionStore({ client, keyspace, logger });
    await store.save(state('s1', 0, 5), 60_000);
    await store.save(state('s1', 1, 9), 60_000);
    // The node that lost the session refreshes its own (older) row afterwards.
    await store.save(state('s1', 0, 7), 60_000);
    expect(await store.load('s1')).toEqual(state('s1', 1, 9));
    const rows = await client.execute(`SELECT epoch FROM ${keyspace}.gateway_sessions WHERE session_id = ?`, ['s1'], { prepare: true });
    expect(rows.rows.map((r) => r.epoch)).toEqual([1, 0]);
    expect(await store.load('absent')).toBeUndefined();
  });

  it('writes each row with the resume window as its TTL, and the row expires', async () => {
    const store = createGatewaySessionStore({ client, keyspace, logger });
    await store.save(state('s2', 3, 4), 2_000);
    const ttl = await client.execute(`SELECT TTL(state) AS ttl FROM ${keyspace}.gateway_sessions WHERE session_id = ? AND epoch = ?`, ['s2', 3], { prepare: true });
    const seconds = Number(ttl.first()!.ttl);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(2);
    await eventually('the row to expire', async () => ((await store.load('s2')) === undefined ? true : undefined), 15_000);
  });

  it('treats a malformed row as absent and logs it; remove forgets every epoch', async () => {
    const store = createGatewaySessionStore({ client, keyspace, logger });
    await store.save(state('s3', 0, 2), 60_000);
    await client.execute(`INSERT INTO ${keyspace}.gateway_sessions (session_id, epoch, state) VALUES (?, ?, ?)`, ['s3', 1, '{"v":1,"id":"s3"'], { prepare: true });
    const before = warnings.length;
    expect(await store.load('s3')).toBeUndefined();
    expect(warnings.length).toBe(before + 1);
    // A valid state in the row of another epoch is refused too.
    await client.execute(`INSERT INTO ${keyspace}.gateway_sessions (session_id, epoch, state) VALUES (?, ?, ?)`, ['s3', 2, encodeGatewaySession(state('s3', 0, 2))], { prepare: true });
    expect(await store.load('s3')).toBeUndefined();
    await store.remove('s3');
    const rows = await client.execute(`SELECT epoch FROM ${keyspace}.gateway_sessions WHERE session_id = ?`, ['s3'], { prepare: true });
    expect(rows.rows).toEqual([]);
  });
});
