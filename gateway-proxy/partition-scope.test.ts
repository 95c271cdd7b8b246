import { describe, expect, it } from 'vitest';
import { partitionFor, shardFor } from '../core/events/partition.ts';
import { readsPartition } from './partition-scope.ts';
import type { AccessGrant } from './tokens.ts';

const grant = (guilds: '*' | string[]): AccessGrant => ({ subject: 's', guilds: guilds === '*' ? '*' : new Set(guilds), expiresAt: new Date(Date.now() + 60_000) });
const guild = (x: number) => String(BigInt(x) << 22n);

describe('readsPartition', () => {
  it('a listed token reads the partitions of its guilds on its shard only', () => {
    const session = { grant: grant([guild(5), guild(6)]), shard: [0, 1] as const };
    expect([0, 1, 2, 3].filter((p) => readsPartition(session, p, 4))).toEqual([1, 2]);
    // Shard [1, 2] keeps guild 5 only (5 % 2 == 1).
    expect([0, 1, 2, 3].filter((p) => readsPartition({ ...session, shard: [1, 2] as const }, p, 4))).toEqual([1]);
  });

  it('a "*" token reads exactly the partitions some guild of its shard lands on, and shard 0 every one (guild-less events)', () => {
    for (const [count, partitions] of [[2, 4], [3, 4], [4, 6], [5, 5], [8, 12]] as const) {
      for (let shard = 1; shard < count; shard++) {
        // Brute force over guild ids: which partitions hold a guild of this shard?
        const reached = new Set<number>();
        for (let x = 0; x < count * partitions; x++) if (shardFor(BigInt(guild(x)), count) === shard) reached.add(partitionFor(BigInt(guild(x)), partitions));
        const got = Array.from({ length: partitions }, (_, p) => p).filter((p) => readsPartition({ grant: grant('*'), shard: [shard, count] }, p, partitions));
        expect(got).toEqual([...reached].sort((a, b) => a - b));
      }
      expect(Array.from({ length: partitions }, (_, p) => readsPartition({ grant: grant('*'), shard: [0, count] }, p, partitions)).every(Boolean)).toBe(true);
    }
  });
});
