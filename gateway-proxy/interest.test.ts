import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge } from './edge.ts';
import { RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';
import { SessionInterest, type PartitionGuildState } from './interest.ts';
import { MemoryDeliverySource } from './memory-delivery-source.ts';
import type { AccessGrant } from './tokens.ts';

const grant = (guilds: '*' | string[]): AccessGrant => ({ subject: 's', guilds: guilds === '*' ? '*' : new Set(guilds), expiresAt: new Date(Date.now() + 60_000) });
/** A guild id on partition `p` of 4 (the partitioner's shard formula). */
const guildOn = (p: number, n = 0) => String(BigInt(1000 + 4 * n + p) << 22n);

function setup() {
  const source = new MemoryDeliverySource({ partitions: 4 });
  const calls: string[] = [];
  const guilds: PartitionGuildState = {
    loadPartition: async (p, n) => void calls.push(`load ${p}/${n}`),
    dropPartition: (p, n) => void calls.push(`drop ${p}/${n}`),
  };
  const interest = new SessionInterest(source, guilds, silentLogger);
  const read = () => [...source.positions([0, 1, 2, 3]).keys()].sort();
  return { source, calls, interest, read };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe("the edge's interest in partitions", () => {
  it('reads a partition from its first session on, loads its guild state once, and stops with its last', async () => {
    const { source, calls, interest, read } = setup();
    await source.start({} as never);
    const one = await interest.acquire({ grant: grant([guildOn(1)]), shard: [0, 1] });
    const two = await interest.acquire({ grant: grant([guildOn(1, 1), guildOn(3)]), shard: [0, 1] });
    expect(one.partitions).toEqual([1]);
    expect(two.partitions).toEqual([1, 3]);
    expect(read()).toEqual([1, 3]);
    expect(calls).toEqual(['load 1/4', 'load 3/4']);
    one.release();
    one.release(); // idempotent
    await settle();
    expect(read()).toEqual([1, 3]);
    two.release();
    await settle();
    expect(read()).toEqual([]);
    expect(calls).toEqual(['load 1/4', 'load 3/4', 'drop 1/4', 'drop 3/4']);
    expect(interest.read()).toEqual([]);
  });

  it('reads only the partitions a sharded "*" session needs, and all of them for shard 0 or unsharded', async () => {
    const { source, interest } = setup();
    await source.start({} as never);
    expect(interest.partitionsOf({ grant: grant('*'), shard: [1, 4] })).toEqual([1]);
    expect(interest.partitionsOf({ grant: grant('*'), shard: [3, 8] })).toEqual([3]);
    expect(interest.partitionsOf({ grant: grant('*'), shard: [1, 2] })).toEqual([1, 3]);
    expect(interest.partitionsOf({ grant: grant('*'), shard: [0, 1] })).toEqual([0, 1, 2, 3]);
    // Shard 0 also gets events without a guild, which may sit on any partition.
    expect(interest.partitionsOf({ grant: grant('*'), shard: [0, 4] })).toEqual([0, 1, 2, 3]);
  });

  it('a partition wanted again right after its release is loaded after the drop, not before it', async () => {
    const { source, calls, interest, read } = setup();
    await source.start({} as never);
    const first = await interest.acquire({ grant: grant([guildOn(2)]), shard: [0, 1] });
    first.release();
    const again = await interest.acquire({ grant: grant([guildOn(2)]), shard: [0, 1] });
    expect(calls).toEqual(['load 2/4', 'drop 2/4', 'load 2/4']);
    expect(read()).toEqual([2]);
    again.release();
  });

  it('rejects, holding nothing, when a partition cannot be read; the next session tries again', async () => {
    const { source, interest, read } = setup();
    await source.start({} as never);
    let failing = true;
    const flaky = new SessionInterest(
      { partitionCount: () => 4, want: async (p) => (failing ? Promise.reject(new Error('kafka away')) : source.want(p)), release: (p) => source.release(p) },
      { loadPartition: async () => {}, dropPartition: () => {} },
      silentLogger,
    );
    await expect(flaky.acquire({ grant: grant([guildOn(0)]), shard: [0, 1] })).rejects.toThrow('kafka away');
    expect(flaky.read()).toEqual([]);
    failing = false;
    const lease = await flaky.acquire({ grant: grant([guildOn(0)]), shard: [0, 1] });
    expect(read()).toEqual([0]);
    lease.release();
    void interest;
  });
});

describe('an edge reads what its sessions need', () => {
  it('from IDENTIFY until the session is forgotten (its resume window passed)', async () => {
    const source = new MemoryDeliverySource({ partitions: 4 });
    const config = loadEdgeConfig({ KAFKA_EVENT_PARTITIONS: '4', EDGE_PORT: '0', EDGE_HOST: '127.0.0.1', EDGE_TOKEN_SECRET: TEST_SECRET, EDGE_RESUME_WINDOW_MS: '300' });
    const edge = await startEdge(config, { logger: silentLogger, registry: createRegistry('edge-interest', { defaults: false }), deliveries: source });
    const read = () => [...source.positions([0, 1, 2, 3]).keys()].sort();
    try {
      expect(read()).toEqual([]);
      const client = new RawClient(edge.nodeUrl);
      await client.opened;
      client.identify(await tokens.mint({ guilds: [guildOn(1), guildOn(3, 1)], ttlSeconds: 60 }));
      await client.ready();
      expect(read()).toEqual([1, 3]);
      const sharded = new RawClient(edge.nodeUrl);
      await sharded.opened;
      sharded.identify(await tokens.mint({ guilds: '*', ttlSeconds: 60 }), { shard: [2, 4] });
      await sharded.ready();
      expect(read()).toEqual([1, 2, 3]);
      sharded.close();
      client.close();
      // Still read while the sessions can be resumed; released once they are forgotten.
      expect(read()).toEqual([1, 2, 3]);
      await eventually('partitions released', () => (read().length === 0 ? true : undefined), 10_000);
    } finally {
      await edge.close();
    }
  });
});
