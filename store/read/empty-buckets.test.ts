import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../core/discord/bucket.ts';
import { snowflakeAt } from '../../core/discord/snowflake.ts';
import { EmptyBucketCache } from './empty-buckets.ts';

describe('empty bucket cache', () => {
  let t = Date.UTC(2025, 0, 1);
  const now = () => t;
  const current = bucketOf(snowflakeAt(t));
  const old = current - 5;

  it('remembers closed buckets, never the open one', () => {
    const cache = new EmptyBucketCache({ maxEntries: 10, ttlMs: 60_000, now });
    cache.markEmpty(1n, old, cache.epoch);
    cache.markEmpty(1n, current, cache.epoch);
    expect(cache.has(1n, old)).toBe(true);
    expect(cache.has(2n, old)).toBe(false);
    expect(cache.has(1n, current)).toBe(false);
  });

  it('forgets a bucket that was written, and ignores a mark from a read that raced the write', () => {
    const cache = new EmptyBucketCache({ maxEntries: 10, ttlMs: 60_000, now });
    cache.markEmpty(1n, old, cache.epoch);
    const seenBeforeWrite = cache.epoch;
    cache.invalidate(1n, old);
    expect(cache.has(1n, old)).toBe(false);
    cache.markEmpty(1n, old, seenBeforeWrite);
    expect(cache.has(1n, old)).toBe(false);
    cache.markEmpty(1n, old, cache.epoch);
    expect(cache.has(1n, old)).toBe(true);
  });

  it('is bounded, dropping the least recently used, and trusts entries only for the TTL', () => {
    const cache = new EmptyBucketCache({ maxEntries: 3, ttlMs: 60_000, now });
    for (const ch of [1n, 2n, 3n]) cache.markEmpty(ch, old, cache.epoch);
    expect(cache.has(1n, old)).toBe(true); // 1 is now the most recent
    cache.markEmpty(4n, old, cache.epoch);
    expect(cache.size).toBe(3);
    expect(cache.has(2n, old)).toBe(false);
    expect(cache.has(1n, old)).toBe(true);
    t += 60_001;
    expect(cache.has(1n, old)).toBe(false);
  });
});
