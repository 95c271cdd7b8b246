import { describe, expect, it } from 'vitest';
import { applyGuildEvent, type GuildSnapshot } from '../core/discord/guild-state.ts';
import { partitionFor } from '../core/events/partition.ts';
import type { GuildStateStore } from '../store/index.ts';
import { EdgeGuildState, MemoryGuildStateReader, type GuildStateReader } from './guild-cache.ts';

// The store is what a role hands the edge: it must fit the edge's reader (checked by tsc).
export const storeFitsReader = (store: GuildStateStore): GuildStateReader => store;

const create = (guild_id: string, d: Record<string, unknown> = {}) => ({ type: 'GUILD_CREATE', guild_id, d: { id: guild_id, name: `g${guild_id}`, ...d } });
const channel = (guild_id: string, id: string, name = `c${id}`) => ({ type: 'CHANNEL_CREATE', guild_id, d: { id, type: 0, name, guild_id } });
const snapshot = (id: string, channels: string[]) => applyGuildEvent(undefined, create(id, { channels: channels.map((c) => ({ id: c, type: 0 })) })) as GuildSnapshot;
const frameOf = (state: EdgeGuildState, id: string) => {
  const frame = state.createFrame(id);
  // The frame without its sequence number: `{"t":...,"s":` + seq + `,"op":0,"d":...}`.
  return frame && (JSON.parse(`${frame.head.toString()}0${frame.tail.toString()}`) as { d: { channels: { id: string; name?: string }[]; unavailable: boolean } }).d;
};
const channelsOf = (state: EdgeGuildState, id: string) => frameOf(state, id)?.channels.map((c) => c.id);

const PARTITIONS = 4;
/** Guild ids on partition `p` of PARTITIONS. */
function guildsOn(p: number, count: number): string[] {
  const out: string[] = [];
  for (let k = 1n; out.length < count; k++) {
    const id = (175928847299117063n + (k << 22n)).toString();
    if (partitionFor(BigInt(id), PARTITIONS) === p) out.push(id);
  }
  return out;
}

describe('EdgeGuildState without a reader (the stream only)', () => {
  it('keeps the guilds seen most recently on the stream, forgetting the least recent past capacity', () => {
    const state = new EdgeGuildState(2);
    state.observe(create('1'));
    state.observe(create('2'));
    expect(state.createFrame('1')).toBeDefined(); // a read is not a sighting...
    state.observe(create('3'));
    expect(state.createFrame('1')).toBeUndefined(); // ...so 1 was the least recently seen
    state.observe({ type: 'GUILD_UPDATE', guild_id: '2', d: { id: '2', name: 'renamed' } });
    state.observe(create('4'));
    expect([state.createFrame('2'), state.createFrame('3'), state.createFrame('4')].map((f) => f !== undefined)).toEqual([true, false, true]);
  });

  it('applies deltas to the snapshot, serializes a frame once per change, and lists a shard\'s guilds oldest first', async () => {
    const state = new EdgeGuildState(10);
    const ids = ['81384788765712384', '175928847299117063', '41771983423143937'];
    for (const id of ids) state.observe(create(id, { channels: [] }));
    state.observe({ type: 'GUILD_UPDATE', guild_id: ids[0], d: { id: ids[0], name: 'new name' } });
    const first = state.createFrame(ids[0]!);
    expect(first).toBe(state.createFrame(ids[0]!)); // serialized once
    state.observe(channel(ids[0]!, '5'));
    expect(state.createFrame(ids[0]!)).not.toBe(first);
    expect([channelsOf(state, ids[0]!), frameOf(state, ids[0]!)?.unavailable]).toEqual([['5'], false]);
    expect(state.guildsOnShard(0, 1)).toEqual([ids[1], ids[2], ids[0]]);
    state.observe({ type: 'GUILD_DELETE', guild_id: ids[1], d: { id: ids[1], unavailable: true } });
    expect(state.guildsOnShard(0, 1)).toHaveLength(3); // an outage, not a removal
    state.observe({ type: 'GUILD_DELETE', guild_id: ids[1], d: { id: ids[1] } });
    expect(state.guildsOnShard(0, 1)).toEqual([ids[2], ids[0]]);
    await state.loadPartition(0, 1); // nothing to load from: resolves at once
    expect(state.guildsOnShard(0, 1)).toEqual([ids[2], ids[0]]);
  });

  it('stores nothing with capacity 0, and ignores deltas of guilds it never saw', () => {
    const empty = new EdgeGuildState(0);
    empty.observe(create('1'));
    expect([empty.createFrame('1'), empty.guildsOnShard(0, 1)]).toEqual([undefined, []]);
    const state = new EdgeGuildState(10);
    state.observe(channel('7', '8'));
    state.observe({ type: 'GUILD_UPDATE', guild_id: '7', d: { id: '7', name: 'x' } });
    expect(state.createFrame('7')).toBeUndefined();
  });
});

describe('EdgeGuildState with a reader', () => {
  it('loads the guilds of a partition from the store, and only that partition\'s', async () => {
    const reader = new MemoryGuildStateReader();
    const [a, b] = guildsOn(1, 2);
    const [other] = guildsOn(2, 1);
    for (const [id, channels] of [[a!, ['11']], [b!, ['12', '13']], [other!, ['14']]] as const) reader.guilds.set(id, snapshot(id, [...channels]));
    const state = new EdgeGuildState(100, reader);
    await state.loadPartition(1, PARTITIONS);
    expect([channelsOf(state, a!), channelsOf(state, b!), state.createFrame(other!)]).toEqual([['11'], ['12', '13'], undefined]);
    expect(state.guildsOnShard(1, PARTITIONS).sort()).toEqual([a, b].sort());
  });

  it('applies events seen while a load reads on top of what it read, in stream order', async () => {
    const reader = new MemoryGuildStateReader();
    const [a, fresh] = guildsOn(3, 2);
    reader.guilds.set(a!, snapshot(a!, ['21'])); // read before the events below were written
    let release!: () => void;
    reader.gate = new Promise((r) => (release = r));
    const state = new EdgeGuildState(100, reader);
    const loading = state.loadPartition(3, PARTITIONS);
    expect(state.loadPartition(3, PARTITIONS)).toBe(loading); // one load per partition at a time
    state.observe(channel(a!, '22'));
    state.observe({ type: 'CHANNEL_UPDATE', guild_id: a!, d: { id: '21', type: 0, name: 'renamed' } });
    state.observe(create(fresh!, { channels: [{ id: '31', type: 0 }] })); // a guild the load did not list
    state.observe(channel(fresh!, '32'));
    release();
    await loading;
    expect(frameOf(state, a!)?.channels).toEqual([{ id: '21', type: 0, name: 'renamed' }, { id: '22', type: 0, name: 'c22', guild_id: a }]);
    expect(channelsOf(state, fresh!)).toEqual(['31', '32']);
    // Later deltas apply as they come.
    state.observe({ type: 'CHANNEL_DELETE', guild_id: a!, d: { id: '21', type: 0 } });
    expect(channelsOf(state, a!)).toEqual(['22']);
  });

  it('drops a partition\'s guilds, discards a load dropped while it read, and loads again from the store', async () => {
    const reader = new MemoryGuildStateReader();
    const [a] = guildsOn(0, 1);
    const [kept] = guildsOn(1, 1);
    reader.guilds.set(a!, snapshot(a!, ['41']));
    reader.guilds.set(kept!, snapshot(kept!, ['42']));
    const state = new EdgeGuildState(100, reader);
    await Promise.all([state.loadPartition(0, PARTITIONS), state.loadPartition(1, PARTITIONS)]);
    state.dropPartition(0, PARTITIONS);
    expect([state.createFrame(a!), channelsOf(state, kept!)]).toEqual([undefined, ['42']]);

    let release!: () => void;
    reader.gate = new Promise((r) => (release = r));
    const abandoned = state.loadPartition(0, PARTITIONS);
    state.dropPartition(0, PARTITIONS);
    release();
    await abandoned;
    expect(state.createFrame(a!)).toBeUndefined();

    reader.gate = undefined;
    reader.guilds.set(a!, snapshot(a!, ['41', '43']));
    await state.loadPartition(0, PARTITIONS);
    expect(channelsOf(state, a!)).toEqual(['41', '43']);
  });

  it('rejects when the store cannot be read, keeping what the stream showed, and can load again', async () => {
    const [a] = guildsOn(2, 1);
    let failing = true;
    const reader = {
      guildsOnPartition: async () => {
        if (failing) throw new Error('store unavailable');
        return [a!];
      },
      loadGuild: async (id: string) => snapshot(id, ['51']),
    };
    const state = new EdgeGuildState(100, reader);
    state.observe(create(a!, { channels: [] }));
    await expect(state.loadPartition(2, PARTITIONS)).rejects.toThrow('store unavailable');
    expect(channelsOf(state, a!)).toEqual([]);
    failing = false;
    await state.loadPartition(2, PARTITIONS);
    expect(channelsOf(state, a!)).toEqual(['51']);
  });
});
