import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateChangeRecord } from '../../core/events/state-change.ts';
import type { Producer } from '../../core/kafka/types.ts';
import { topicNames } from '../../core/kafka/topics.ts';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import { createCqlClient, createGuildStateStore, createMessageStore, type CqlClient, type GuildStateStore } from '../../store/index.ts';
import { freePort, startRole, type RoleProcess } from '../../test/child.ts';
import { eventually, localStoreConfig, testKafka, uniqueName } from '../../test/support.ts';

/** Depend on when and how often this test asked, not on what exists. */
const CLOCK_HEADERS = new Set(['date', 'x-ratelimit-reset', 'x-ratelimit-reset-after', 'x-ratelimit-remaining']);

const secret = 'history-access-int-secret';
const guildA = '1300000000000000001';
const guildB = '1300000000000000002';
const nowhereGuild = '1300000000000000003';
const channelA = '1300000000000000011';
const channelB = '1300000000000000012';
/** Nothing was ever written to it. */
const nowhere = '1300000000000000013';
/** A channel of guild A nobody has written in. */
const quietA = '1300000000000000014';
const quietB = '1300000000000000015';
const id = (n: number) => (1_300_000_000_000_000_000n + BigInt(n) * 4_194_304_000n).toString();
const author = { id: '80351110224678912', username: 'nelly', discriminator: '0', avatar: null, global_name: null };
const guildCreate = (guild: string, name: string, channels: string[]) => ({
  type: 'GUILD_CREATE',
  guild_id: guild,
  d: { id: guild, name, channels: channels.map((c) => ({ id: c, type: 0, name: `c${c.slice(-2)}` })), threads: [], roles: [{ id: guild, name: '@everyone', permissions: '0' }], members: [] },
});

describe('the api role, as its own process over the real Cassandra and Kafka: what other guilds look like', () => {
  const keyspace = uniqueName('histacc').toLowerCase();
  const prefix = uniqueName('histacc');
  let api: RoleProcess;
  let base: string;
  let client: CqlClient;
  let guildState: GuildStateStore;
  let producer: Producer;
  let token: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = startRole('bin/guildcast.mjs', {
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      CASSANDRA_KEYSPACE: keyspace,
      KAFKA_TOPIC_PREFIX: prefix,
      EDGE_TOKEN_SECRET: secret,
      CONSOLE_ENABLED: 'false',
      // Far beyond the test: a change it sees came through the state-changes topic.
      API_STATE_CACHE_TTL_MS: '3600000',
    }, ['api']);
    await eventually('api ready', async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 120_000).catch((err) => {
      throw new Error(`${err.message}\n${api.output()}`);
    });
    client = createCqlClient(localStoreConfig);
    await client.connect();
    const registry = new Registry();
    const store = createMessageStore({ client, keyspace, registry });
    await store.upsertMessages([
      ...[1, 2, 3].map((n) => ({ id: id(n), channel_id: channelA, guild_id: guildA, author, content: `a${n}`, type: 0 })),
      ...[4, 5, 6].map((n) => ({ id: id(n), channel_id: channelB, guild_id: guildB, author, content: `b${n}`, type: 0 })),
    ]);
    guildState = createGuildStateStore({ client, keyspace, registry });
    await guildState.applyGuildEvents([guildCreate(guildA, 'A', [channelA, quietA]), guildCreate(guildB, 'B', [channelB, quietB])], { partitions: 4 });
    producer = testKafka().producer();
    await producer.connect();
    token = await createTokenSigner(secret).mint({ guilds: [guildA], ttlSeconds: 600 });
  });
  afterAll(async () => {
    await api?.kill();
    await producer?.disconnect();
    await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client?.shutdown();
  });

  /** Status, headers but the clock and the rate-limit window's count, and body bytes: all a client can tell two answers apart by. */
  async function seen(path: string, init: { method?: string; body?: string } = {}) {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bot ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const headers = Object.fromEntries([...res.headers].filter(([name]) => !CLOCK_HEADERS.has(name)));
    return { status: res.status, headers, body: await res.text() };
  }

  it('serves its own channel, an own channel without messages, the channel object and the guild', async () => {
    const mine = await seen(`/api/v10/channels/${channelA}/messages`);
    expect(mine.status).toBe(200);
    expect(JSON.parse(mine.body).map((m: { content: string }) => m.content)).toEqual(['a3', 'a2', 'a1']);
    expect((await seen(`/api/v10/channels/${channelA}/messages/${id(9)}`)).status).toBe(404);
    expect(await seen(`/api/v10/channels/${quietA}/messages`)).toMatchObject({ status: 200, body: '[]' });
    expect(JSON.parse((await seen(`/api/v10/channels/${channelA}`)).body)).toEqual({ id: channelA, type: 0, name: 'c11', guild_id: guildA });
    const guild = JSON.parse((await seen(`/api/v10/guilds/${guildA}`)).body);
    expect([guild.id, guild.name, guild.roles.length, guild.channels]).toEqual([guildA, 'A', 1, undefined]);
  });

  it('answers "not yours" exactly as "does not exist" on every route', async () => {
    const pairs: [string, string, string?][] = [
      [`/api/v10/channels/${channelB}/messages`, `/api/v10/channels/${nowhere}/messages`],
      [`/api/v10/channels/${channelB}/messages?after=${id(6)}`, `/api/v10/channels/${nowhere}/messages`],
      [`/api/v10/channels/${quietB}/messages`, `/api/v10/channels/${nowhere}/messages`],
      [`/api/v10/channels/${channelB}/messages/${id(5)}`, `/api/v10/channels/${nowhere}/messages/${id(5)}`],
      [`/api/v10/channels/${channelB}/messages/${id(9)}`, `/api/v10/channels/${nowhere}/messages/${id(5)}`],
      [`/api/v10/channels/${channelB}`, `/api/v10/channels/${nowhere}`],
      [`/api/v10/guilds/${guildB}`, `/api/v10/guilds/${nowhereGuild}`],
      [`/api/guildcast/v1/guilds/${guildB}/settings`, `/api/guildcast/v1/guilds/${nowhereGuild}/settings`],
      [`/api/guildcast/v1/guilds/${guildB}/settings`, `/api/guildcast/v1/guilds/${nowhereGuild}/settings`, '{"prefix":"?"}'],
    ];
    for (const [theirs, absent, body] of pairs) {
      const init = body !== undefined ? { method: 'PATCH', body } : {};
      const a = await seen(absent, init);
      expect(a.status, absent).toBe(404);
      expect(await seen(theirs, init), theirs).toEqual(a);
    }
  });

  it("serves and updates its guild's settings, and refuses an invalid body with 50035", async () => {
    const url = `/api/guildcast/v1/guilds/${guildA}/settings`;
    expect(JSON.parse((await seen(url)).body)).toEqual({ prefix: '!', language: 'en-US', welcome_channel_id: null, extra: {} });
    const patched = await seen(url, { method: 'PATCH', body: JSON.stringify({ prefix: '$', welcome_channel_id: channelA }) });
    expect([patched.status, JSON.parse(patched.body).prefix]).toEqual([200, '$']);
    expect(JSON.parse((await seen(url)).body)).toMatchObject({ prefix: '$', welcome_channel_id: channelA });
    const bad = await seen(url, { method: 'PATCH', body: '{"language":42}' });
    expect([bad.status, JSON.parse(bad.body).code, Object.keys(JSON.parse(bad.body).errors)]).toEqual([400, 50035, ['language']]);
  });

  it('sees a guild change another process wrote as soon as its state-changes record is read, long before the TTL', async () => {
    expect(JSON.parse((await seen(`/api/v10/guilds/${guildA}`)).body).name).toBe('A');
    const added = '1300000000000000016';
    await guildState.applyGuildEvents([{ type: 'GUILD_UPDATE', guild_id: guildA, d: { id: guildA, name: 'A renamed' } }, { type: 'CHANNEL_CREATE', guild_id: guildA, d: { id: added, type: 0, name: 'new', guild_id: guildA } }], { partitions: 4 });
    // Still cached: without the record the api would answer the old guild for an hour.
    expect(JSON.parse((await seen(`/api/v10/guilds/${guildA}`)).body).name).toBe('A');
    expect((await seen(`/api/v10/channels/${added}`)).status).toBe(404);
    await producer.send({ topic: topicNames({ KAFKA_TOPIC_PREFIX: prefix }).stateChanges, messages: [stateChangeRecord({ v: 1, kind: 'guild', guild_id: guildA, channel_ids: [added], at: Date.now() })] });
    await eventually('the rename', async () => (JSON.parse((await seen(`/api/v10/guilds/${guildA}`)).body).name === 'A renamed' ? true : undefined), 30_000);
    expect(JSON.parse((await seen(`/api/v10/channels/${added}`)).body)).toMatchObject({ id: added, guild_id: guildA, name: 'new' });
    expect((await seen(`/api/v10/channels/${added}/messages`)).body).toBe('[]');
  });
});
