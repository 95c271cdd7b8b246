import { describe, expect, it } from 'vitest';
import { partitionFor, partitionForKey, shardFor } from './partition.ts';

describe('guild partitioning', () => {
  const guild = 81384788765712384n; // a real Discord guild id

  it("follows Discord's shard formula", () => {
    expect(shardFor(guild, 16)).toBe(Number((guild >> 22n) % 16n));
    expect(partitionFor(guild, 12)).toBe(Number((guild >> 22n) % 12n));
  });

  it('keeps shard i of n on partitions p with p % n == i when n divides the partition count', () => {
    for (let g = 0n; g < 5000n; g++) {
      const id = (g * 7919n + 13n) << 22n;
      expect(partitionFor(id, 12) % 4).toBe(shardFor(id, 4));
    }
  });

  it('routes string keys like bigint ids, and unroutable keys to 0', () => {
    expect(partitionForKey(String(guild), 12)).toBe(partitionFor(guild, 12));
    expect(partitionForKey(Buffer.from(String(guild)), 12)).toBe(partitionFor(guild, 12));
    expect(partitionForKey(null, 12)).toBe(0);
    expect(partitionForKey('not-a-snowflake', 12)).toBe(0);
    expect(partitionForKey('18446744073709551616', 12)).toBe(0); // 2^64: above the largest snowflake
    expect(partitionForKey('18446744073709551615', 12)).toBe(partitionFor(2n ** 64n - 1n, 12));
  });
});
