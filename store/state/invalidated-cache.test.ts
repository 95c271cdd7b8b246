import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { StateChange } from '../../core/events/state-change.ts';
import type { ConsumedRecord } from '../../core/kafka/types.ts';
import { cachedGuildState, memoryGuildState } from './guild-state-cache.ts';
import { invalidatedCache } from './invalidated-cache.ts';
import { invalidateOn, memoryStateChanges, readStateChanges } from './state-changes-follower.ts';

const guild = '81384788765712384';
const other = '175928847299117063';
const channel = '81384788765712385';
const change = (over: Partial<StateChange> = {}): StateChange => ({ v: 1, kind: 'guild', guild_id: guild, at: 1, ...over });

/** A store of one value per key that counts its reads and can hold a read open. */
function countingStore(initial: Record<string, string>) {
  const values = new Map(Object.entries(initial));
  let reads = 0;
  let gate: Promise<void> | undefined;
  return {
    values,
    reads: () => reads,
    hold() {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
    async load(key: string) {
      reads++;
      // Read before the gate: a held load answers what the store held when it started.
      const value = values.get(key);
      await gate;
      return value;
    },
  };
}

describe('invalidated read-through cache', () => {
  it('reads the store once per key until dropped, caches absence, and coalesces concurrent loads', async () => {
    const store = countingStore({ a: '1' });
    const cache = invalidatedCache({ name: 't', max: 10, ttlMs: 600_000, load: store.load });
    const open = store.hold();
    const both = Promise.all([cache.get('a'), cache.get('a')]);
    open();
    expect(await both).toEqual(['1', '1']);
    expect(await cache.get('missing')).toBeUndefined();
    expect(await cache.get('missing')).toBeUndefined();
    expect(store.reads()).toBe(2);
    store.values.set('a', '2');
    expect(await cache.get('a')).toBe('1');
    cache.drop('a');
    expect(await cache.get('a')).toBe('2');
    expect(store.reads()).toBe(3);
  });

  it('does not keep a load an invalidation overtook: the waiting get reads the store again', async () => {
    const store = countingStore({ a: 'old' });
    const cache = invalidatedCache({ name: 't', max: 10, ttlMs: 600_000, load: store.load });
    const open = store.hold();
    const pending = cache.get('a');
    await Promise.resolve();
    // The write lands and its invalidation arrives while the first load (which read "old") is still out.
    store.values.set('a', 'new');
    cache.drop('a');
    open();
    expect(await pending).toBe('new');
    expect(await cache.get('a')).toBe('new');
  });

  it('bounds its size and expires entries after the TTL even when no invalidation comes', async () => {
    const store = countingStore({ a: '1', b: '2', c: '3' });
    const cache = invalidatedCache({ name: 't', max: 2, ttlMs: 30, load: store.load });
    for (const k of ['a', 'b', 'c']) await cache.get(k);
    expect(cache.size).toBe(2);
    store.values.set('c', 'changed');
    await new Promise((r) => setTimeout(r, 60));
    expect(await cache.get('c')).toBe('changed');
  });

  it('passes a failed load to the caller and caches nothing of it', async () => {
    let fail = true;
    const cache = invalidatedCache({ name: 't', max: 10, ttlMs: 600_000, load: async () => (fail ? Promise.reject(new Error('down')) : 'up') });
    await expect(cache.get('a')).rejects.toThrow('down');
    fail = false;
    expect(await cache.get('a')).toBe('up');
  });

  it('counts hits and misses per cache', async () => {
    const registry = new Registry();
    const cache = invalidatedCache({ name: 'guilds', max: 10, ttlMs: 600_000, load: async () => 'x', registry });
    await cache.get('a');
    await cache.get('a');
    const values = (await registry.getSingleMetric('guildcast_state_cache_requests_total')!.get()).values;
    expect(values.map((v) => [v.labels.result, v.value])).toEqual([['miss', 1], ['hit', 1]]);
  });
});

describe('invalidation from state changes', () => {
  it("drops a record's guild in guild-keyed caches and its channels in channel-keyed ones; a gap drops all", async () => {
    const changes = memoryStateChanges();
    const store = countingStore({ [guild]: 'g1', [other]: 'o1', [channel]: guild });
    const guilds = invalidatedCache({ name: 'g', max: 10, ttlMs: 600_000, load: store.load });
    const channels = invalidatedCache({ name: 'c', max: 10, ttlMs: 600_000, load: store.load });
    const stop = invalidateOn(changes, { guilds: [guilds], channels: [channels] });
    await Promise.all([guilds.get(guild), guilds.get(other), channels.get(channel)]);
    store.values.set(guild, 'g2');
    store.values.set(other, 'o2');
    store.values.set(channel, other);
    changes.publish(change({ kind: 'settings' }));
    expect([await guilds.get(guild), await guilds.get(other), await channels.get(channel)]).toEqual(['g2', 'o1', guild]);
    changes.publish(change({ guild_id: other, channel_ids: [channel] }));
    expect([await guilds.get(other), await channels.get(channel)]).toEqual(['o2', other]);
    store.values.set(guild, 'g3');
    changes.gap();
    expect(await guilds.get(guild)).toBe('g3');
    stop();
    store.values.set(guild, 'g4');
    changes.publish(change());
    expect(await guilds.get(guild)).toBe('g3');
  });

  it('serves a channel from its guild, so an update naming only the guild is seen on the channel too', async () => {
    const changes = memoryStateChanges();
    const reader = memoryGuildState([{ id: guild, name: 'g', channels: [{ id: channel, name: 'general', type: 0 }], roles: [], threads: [], members: [] }]);
    const state = cachedGuildState(reader, { changes, ttlMs: 600_000, max: 100 });
    expect(await state.channel(channel)).toEqual({ id: channel, name: 'general', type: 0, guild_id: guild });
    reader.put({ id: guild, name: 'g', channels: [{ id: channel, name: 'renamed', type: 0 }], roles: [], threads: [], members: [] });
    expect((await state.channel(channel))?.name).toBe('general');
    changes.publish(change());
    expect((await state.channel(channel))?.name).toBe('renamed');
    // Deleted: the record names the removed channel, so its channel → guild entry goes too.
    reader.put({ id: guild, name: 'g', channels: [], roles: [], threads: [], members: [] });
    changes.publish(change({ channel_ids: [channel] }));
    expect(await state.channel(channel)).toBeUndefined();
    expect(await state.guildOfChannel(channel)).toBeUndefined();
  });
});

describe('reading state-changes records', () => {
  const record = (value: string | null, offset = '0'): ConsumedRecord => ({ offset, key: Buffer.from(guild), value: value === null ? null : Buffer.from(value), headers: {}, timestamp: '0' });

  it('parses valid records and dead-letters the rest with the reason, keeping the bytes and the source', () => {
    const good = JSON.stringify(change({ channel_ids: [channel] }));
    const { changes, letters } = readStateChanges(
      [record(good, '1'), record('{nope', '2'), record(null, '3'), record(JSON.stringify({ ...change(), kind: 'weather' }), '4'), record(JSON.stringify({ ...change(), guild_id: 'x' }), '5'), record(good, '6')],
      { topic: 't.state-changes', partition: 0 },
    );
    expect(changes).toEqual([change({ channel_ids: [channel] }), change({ channel_ids: [channel] })]);
    expect(letters.map((l) => [l.source?.offset, l.stage])).toEqual([['2', 'state.follow'], ['3', 'state.follow'], ['4', 'state.follow'], ['5', 'state.follow']]);
    expect(letters[0]!.reason).toMatch(/not JSON/);
    expect(letters[1]!.reason).toMatch(/empty/);
    expect(letters[2]!.reason).toMatch(/kind/);
    expect(letters[3]!.reason).toMatch(/guild_id/);
    expect(letters[0]!.value).toEqual(Buffer.from('{nope'));
    expect(letters[0]!.source?.topic).toBe('t.state-changes');
  });
});
