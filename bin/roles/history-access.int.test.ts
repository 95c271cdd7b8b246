import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import { createCqlClient, createMessageStore, type CqlClient } from '../../store/index.ts';
import { freePort, startRole, type RoleProcess } from '../../test/child.ts';
import { eventually, localStoreConfig, uniqueName } from '../../test/support.ts';

const secret = 'history-access-int-secret';
const guildA = '1300000000000000001';
const guildB = '1300000000000000002';
const channelA = '1300000000000000011';
const channelB = '1300000000000000012';
/** Nothing was ever written to it. */
const nowhere = '1300000000000000013';
const id = (n: number) => (1_300_000_000_000_000_000n + BigInt(n) * 4_194_304_000n).toString();
const author = { id: '80351110224678912', username: 'nelly', discriminator: '0', avatar: null, global_name: null };

describe('the api role, as its own process over the real Cassandra: history of other guilds', () => {
  const keyspace = uniqueName('histacc').toLowerCase();
  let api: RoleProcess;
  let base: string;
  let client: CqlClient;
  let token: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}/api/v10`;
    api = startRole('bin/guildcast.mjs', {
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      CASSANDRA_KEYSPACE: keyspace,
      KAFKA_TOPIC_PREFIX: uniqueName('histacc'),
      EDGE_TOKEN_SECRET: secret,
      CONSOLE_ENABLED: 'false',
    }, ['api']);
    await eventually('api ready', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 120_000).catch((err) => {
      throw new Error(`${err.message}\n${api.output()}`);
    });
    client = createCqlClient(localStoreConfig);
    await client.connect();
    const store = createMessageStore({ client, keyspace, registry: new Registry() });
    await store.upsertMessages([
      ...[1, 2, 3].map((n) => ({ id: id(n), channel_id: channelA, guild_id: guildA, author, content: `a${n}`, type: 0 })),
      ...[4, 5, 6].map((n) => ({ id: id(n), channel_id: channelB, guild_id: guildB, author, content: `b${n}`, type: 0 })),
    ]);
    token = await createTokenSigner(secret).mint({ guilds: [guildA], ttlSeconds: 600 });
  });
  afterAll(async () => {
    await api?.kill();
    await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client?.shutdown();
  });

  /** Status, headers but the clock, and body bytes: all a client can tell two answers apart by. */
  async function seen(path: string) {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bot ${token}` } });
    const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== 'date'));
    return { status: res.status, headers, body: await res.text() };
  }

  it('serves its own channel', async () => {
    const mine = await seen(`/channels/${channelA}/messages`);
    expect(mine.status).toBe(200);
    expect(JSON.parse(mine.body).map((m: { content: string }) => m.content)).toEqual(['a3', 'a2', 'a1']);
    expect((await seen(`/channels/${channelA}/messages/${id(9)}`)).status).toBe(404);
  });

  it('answers "not yours" on the channel history route exactly as "does not exist"', async () => {
    const absent = await seen(`/channels/${nowhere}/messages`);
    const theirs = await seen(`/channels/${channelB}/messages`);
    const theirsEmptyPage = await seen(`/channels/${channelB}/messages?after=${id(6)}`);
    expect(theirs).toEqual(absent);
    expect(theirsEmptyPage).toEqual(absent);
  });

  it('answers "not yours" on the single-message route exactly as "does not exist"', async () => {
    const absent = await seen(`/channels/${nowhere}/messages/${id(5)}`);
    const theirs = await seen(`/channels/${channelB}/messages/${id(5)}`);
    const theirsMissing = await seen(`/channels/${channelB}/messages/${id(9)}`);
    expect(theirs).toEqual(absent);
    expect(theirsMissing).toEqual(absent);
  });
});
