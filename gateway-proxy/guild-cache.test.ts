import { describe, expect, it } from 'vitest';
import { GuildCache } from './guild-cache.ts';

const create = (guild_id: string, d: Record<string, unknown> = {}) => ({ type: 'GUILD_CREATE', guild_id, d: { name: `g${guild_id}`, ...d } });

describe('GuildCache', () => {
  it('keeps the guilds seen most recently on the stream, forgetting the least recent past capacity', () => {
    const cache = new GuildCache(2);
    cache.observe(create('1'));
    cache.observe(create('2'));
    expect(cache.createFrame('1')).toBeDefined(); // a read is not a sighting...
    cache.observe(create('3'));
    expect(cache.createFrame('1')).toBeUndefined(); // ...so 1 was the least recently seen
    cache.observe({ type: 'GUILD_UPDATE', guild_id: '2', d: { name: 'renamed' } });
    cache.observe(create('4'));
    expect([cache.createFrame('2'), cache.createFrame('3'), cache.createFrame('4')].map((f) => f !== undefined)).toEqual([true, false, true]);
  });

  it('merges updates into the cached payload, and lists a shard\'s guilds oldest first', () => {
    const cache = new GuildCache(10);
    const ids = ['81384788765712384', '175928847299117063', '41771983423143937'];
    for (const id of ids) cache.observe(create(id, { channels: [] }));
    cache.observe({ type: 'GUILD_UPDATE', guild_id: ids[0], d: { name: 'new name' } });
    const first = cache.createFrame(ids[0]!);
    expect(first).toBe(cache.createFrame(ids[0]!)); // serialized once
    expect(cache.guildsOnShard(0, 1)).toEqual([ids[1], ids[2], ids[0]]);
    cache.observe({ type: 'GUILD_DELETE', guild_id: ids[1], d: { id: ids[1], unavailable: true } });
    expect(cache.guildsOnShard(0, 1)).toHaveLength(3); // an outage, not a removal
    cache.observe({ type: 'GUILD_DELETE', guild_id: ids[1], d: { id: ids[1] } });
    expect(cache.guildsOnShard(0, 1)).toEqual([ids[2], ids[0]]);
  });

  it('stores nothing with capacity 0', () => {
    const cache = new GuildCache(0);
    cache.observe(create('1'));
    expect([cache.createFrame('1'), cache.guildsOnShard(0, 1)]).toEqual([undefined, []]);
  });
});
