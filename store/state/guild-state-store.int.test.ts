import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionFor } from '../../core/events/partition.ts';
import { snowflakeAt } from '../../core/discord/snowflake.ts';
import { dropKeyspace, testKeyspace } from '../../test/support.ts';
import type { CqlClient } from '../cql/client.ts';
import { StoreValidationError } from '../errors.ts';
import { createGuildStateStore, type GuildStateStore } from './guild-state-store.ts';

const PARTITIONS = 6;
let next = snowflakeAt(Date.now() - 3_600_000);
const id = () => String((next += 1n << 22n));
const ev = (type: string, guild_id: string, d: unknown) => ({ type, guild_id, d });

describe('guild state store against the real Cassandra', () => {
  let client: CqlClient;
  let keyspace: string;
  let store: GuildStateStore;

  beforeAll(async () => {
    ({ client, keyspace } = await testKeyspace('guild_state'));
    store = createGuildStateStore({ client, keyspace, registry: new Registry() });
  });
  afterAll(async () => {
    await dropKeyspace(client, keyspace);
  });

  const rows = async (table: string, where: string, params: unknown[]) =>
    (await client.execute(`SELECT * FROM ${keyspace}.${table} WHERE ${where}`, params, { prepare: true })).rows;

  it('keeps the snapshot, channel_guilds and guilds_by_partition in step through create, channel events and delete', async () => {
    const [guild, general, news, threadId, added] = [id(), id(), id(), id(), id()];
    const partition = partitionFor(BigInt(guild), PARTITIONS);
    const create = ev('GUILD_CREATE', guild, {
      id: guild,
      name: 'g',
      channels: [{ id: general, type: 0 }, { id: news, type: 5 }],
      threads: [{ id: threadId, type: 11, parent_id: general, thread_metadata: { archived: false } }],
      roles: [{ id: guild, name: '@everyone' }],
      members: [{ user: { id: '5', bot: true } }, { user: { id: '6' } }],
    });
    const first = await store.applyGuildEvents([create, ev('CHANNEL_CREATE', guild, { id: added, type: 0, guild_id: guild })], { partitions: PARTITIONS });
    expect(first).toEqual([{ guild_id: guild, channel_ids: expect.arrayContaining([general, news, threadId, added]) }]);
    const snapshot = await store.loadGuild(guild);
    expect(snapshot?.channels.map((c) => c.id)).toEqual([general, news, added]);
    expect(snapshot?.members).toEqual([{ user: { id: '5', bot: true } }]);
    for (const c of [general, news, threadId, added]) expect(await store.guildOfChannel(c), c).toBe(guild);
    expect(await store.guildsOnPartition(partition, PARTITIONS)).toContain(guild);
    expect(await store.getChannel(added)).toEqual({ id: added, type: 0, guild_id: guild });

    // Archiving keeps the thread's lookup; deleting its parent ends both.
    const archived = await store.applyGuildEvents([ev('THREAD_UPDATE', guild, { id: threadId, type: 11, parent_id: general, thread_metadata: { archived: true } })], { partitions: PARTITIONS });
    expect(archived).toEqual([{ guild_id: guild, channel_ids: [threadId] }]);
    expect([await store.guildOfChannel(threadId), await store.getChannel(threadId)]).toEqual([guild, undefined]);
    // The same event again (a retried chunk whose announcement may not have gone out) is announced again.
    expect(await store.applyGuildEvents([ev('THREAD_UPDATE', guild, { id: threadId, type: 11, parent_id: general, thread_metadata: { archived: true } })], { partitions: PARTITIONS })).toEqual(archived);
    const deleted = await store.applyGuildEvents([ev('CHANNEL_DELETE', guild, { id: general, type: 0, guild_id: guild }), ev('THREAD_DELETE', guild, { id: threadId, parent_id: general })], { partitions: PARTITIONS });
    expect(deleted[0]!.channel_ids.sort()).toEqual([general, threadId].sort());
    expect(await rows('channel_guilds', 'channel_id IN ?', [[BigInt(general), BigInt(threadId), BigInt(news)]])).toHaveLength(1);
    expect((await store.loadGuild(guild))?.channels.map((c) => c.id)).toEqual([news, added]);

    const gone = await store.applyGuildEvents([ev('GUILD_DELETE', guild, { id: guild })], { partitions: PARTITIONS });
    expect(gone).toEqual([{ guild_id: guild, channel_ids: expect.arrayContaining([news, added]) }]);
    expect(await store.loadGuild(guild)).toBeUndefined();
    expect(await store.guildOfChannel(news)).toBeUndefined();
    expect(await store.guildsOnPartition(partition, PARTITIONS)).not.toContain(guild);
    expect(await rows('guild_state', 'guild_id = ?', [BigInt(guild)])).toHaveLength(0);
    // The same delete again (a retried chunk) still announces the guild, and writes nothing new.
    expect(await store.applyGuildEvents([ev('GUILD_DELETE', guild, { id: guild })], { partitions: PARTITIONS })).toEqual([{ guild_id: guild, channel_ids: [] }]);
  });

  it('applies a guild\'s events in order; an event of a guild without a snapshot writes nothing but is announced, member no-ops are not', async () => {
    const [a, b, c1] = [id(), id(), id()];
    const changes = await store.applyGuildEvents(
      [
        ev('GUILD_CREATE', a, { id: a, name: 'a', channels: [] }),
        ev('CHANNEL_CREATE', b, { id: c1, type: 0 }), // b has no snapshot
        ev('GUILD_UPDATE', a, { id: a, name: 'renamed' }),
        ev('GUILD_MEMBER_ADD', a, { user: { id: '7' } }), // not a bot
        ev('MESSAGE_CREATE', a, { id: '1' }), // not guild state: ignored
      ],
      { partitions: PARTITIONS },
    );
    expect(changes).toEqual([
      { guild_id: a, channel_ids: [] },
      { guild_id: b, channel_ids: [c1] },
    ]);
    expect((await store.loadGuild(a))?.name).toBe('renamed');
    expect([await store.loadGuild(b), await store.guildOfChannel(c1)]).toEqual([undefined, undefined]);
    expect(await store.applyGuildEvents([ev('GUILD_MEMBER_UPDATE', a, { user: { id: '7' }, nick: 'x' })], { partitions: PARTITIONS })).toEqual([]);
  });

  it('refuses a batch with malformed events whole, naming their positions', async () => {
    const guild = id();
    const batch = [
      ev('GUILD_CREATE', guild, { id: guild, channels: [] }),
      ev('CHANNEL_CREATE', guild, 'not an object'),
      ev('GUILD_ROLE_CREATE', guild, { role: {} }),
      ev('CHANNEL_CREATE', guild, { id: '18446744073709551615', type: 0 }),
    ];
    const err = await store.applyGuildEvents(batch, { partitions: PARTITIONS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreValidationError);
    expect((err as StoreValidationError).failures.map((f) => f.index)).toEqual([1, 2, 3]);
    expect((err as StoreValidationError).failures[2]!.reason).toMatch(/2\^63/);
    expect(await store.loadGuild(guild)).toBeUndefined();
    await expect(store.loadGuild('nope')).rejects.toBeInstanceOf(StoreValidationError);
  });

  it('lists a partition\'s guilds across pages', async () => {
    const paged = createGuildStateStore({ client, keyspace, registry: new Registry(), pageSize: 5 });
    const guilds = Array.from({ length: 12 }, id);
    // One partition in all (a count no other test uses): every guild is on partition 0.
    await paged.applyGuildEvents(guilds.map((g) => ev('GUILD_CREATE', g, { id: g })), { partitions: 1 });
    expect((await paged.guildsOnPartition(0, 1)).sort()).toEqual(guilds.sort());
    await expect(paged.guildsOnPartition(1, 1)).rejects.toBeInstanceOf(StoreValidationError);
  });
});
