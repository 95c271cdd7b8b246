import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snowflakeAt } from '../core/discord/snowflake.ts';
import { partitionFor } from '../core/events/partition.ts';
import { createGuildStateStore, type CqlClient, type GuildStateStore } from '../store/index.ts';
import { dropKeyspace, testKeyspace } from '../test/support.ts';
import { EdgeGuildState } from './guild-cache.ts';

const PARTITIONS = 4;

/**
 * The edge's guild state over the real store: what fanout wrote is what a node that starts
 * reading a partition serves, with the events that pass during the load applied on top.
 */
describe('EdgeGuildState loading from the real guild-state store', () => {
  let client: CqlClient;
  let keyspace: string;
  let store: GuildStateStore;

  beforeAll(async () => {
    ({ client, keyspace } = await testKeyspace('edge_guilds'));
    store = createGuildStateStore({ client, keyspace, registry: new Registry() });
  });
  afterAll(async () => {
    await dropKeyspace(client, keyspace);
  });

  it('serves complete GUILD_CREATEs for the partition it loads, and events during the load on top', async () => {
    let next = snowflakeAt(Date.now() - 60_000);
    const guilds: string[] = [];
    while (guilds.length < 6) {
      next += 1n << 22n;
      guilds.push(String(next));
    }
    const [target, ...others] = guilds;
    const partition = partitionFor(BigInt(target!), PARTITIONS);
    const onTarget = guilds.filter((g) => partitionFor(BigInt(g), PARTITIONS) === partition);
    const channelOf = (g: string, k: bigint) => String(BigInt(g) + k);
    await store.applyGuildEvents(
      guilds.flatMap((g) => [
        { type: 'GUILD_CREATE', guild_id: g, d: { id: g, name: `guild ${g}`, channels: [{ id: channelOf(g, 1n), type: 0 }] } },
        { type: 'CHANNEL_CREATE', guild_id: g, d: { id: channelOf(g, 2n), type: 0, guild_id: g } },
      ]),
      { partitions: PARTITIONS },
    );

    const state = new EdgeGuildState(100, store);
    const loading = state.loadPartition(partition, PARTITIONS);
    // Passes while the load reads: fanout wrote it to the store first, but the read may predate it.
    const late = { type: 'CHANNEL_CREATE', guild_id: target!, d: { id: channelOf(target!, 3n), type: 0, guild_id: target } };
    await store.applyGuildEvents([late], { partitions: PARTITIONS });
    state.observe(late);
    await loading;

    const channels = (g: string) => {
      const frame = state.createFrame(g);
      return frame && (JSON.parse(`${frame.head}0${frame.tail}`) as { d: { channels: { id: string }[] } }).d.channels.map((c) => c.id);
    };
    expect(channels(target!)).toEqual([1n, 2n, 3n].map((k) => channelOf(target!, k)));
    expect(state.guildsOnShard(partition, PARTITIONS).sort()).toEqual(onTarget.sort());
    for (const g of others.filter((o) => !onTarget.includes(o))) expect(state.createFrame(g), g).toBeUndefined();
  });
});
