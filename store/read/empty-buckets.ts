import { LRUCache } from 'lru-cache';
import { BUCKET_SIZE_MS } from '../../core/discord/bucket.ts';
import { DISCORD_EPOCH, type Snowflake } from '../../core/discord/snowflake.ts';

export interface EmptyBucketCacheOptions {
  /** Most (channel, bucket) pairs remembered; the least recently used is forgotten first. */
  maxEntries: number;
  /** How long an entry is trusted: bounds how long a backfill by another process stays unseen. */
  ttlMs: number;
  now?: () => number;
}

/**
 * A bucket can still receive live messages for a while after its window closed (consumer lag,
 * clock skew between shards), so only buckets closed for longer than this are remembered.
 */
export const OPEN_BUCKET_GRACE_MS = 60 * 60 * 1000;

/**
 * Remembers (channel, bucket) partitions a history read found empty, so later reads skip them.
 * The open bucket is never remembered. A writer calls `invalidate` for every bucket it writes;
 * a read passes the `epoch` it saw before querying to `markEmpty`, so that a read which raced a
 * write into that bucket cannot record an emptiness the write just ended.
 */
export class EmptyBucketCache {
  private readonly entries: LRUCache<string, true>;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private invalidations = 0;

  constructor({ maxEntries, ttlMs, now = Date.now }: EmptyBucketCacheOptions) {
    this.maxEntries = maxEntries;
    this.now = now;
    // lru-cache needs max >= 1; with 0 nothing is ever stored (markEmpty returns first). The TTL
    // clock is ours (tests move it), read at every check: ttlResolution 0, no timer per lookup.
    this.entries = new LRUCache({ max: Math.max(1, maxEntries), ttl: ttlMs, ttlResolution: 0, perf: { now } });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Changes whenever a remembered-able bucket is written; see `markEmpty`. */
  get epoch(): number {
    return this.invalidations;
  }

  /** `get`, not `has`: a hit counts as a use (LRU order), and an expired entry is dropped. */
  has(channelId: Snowflake, bucket: number): boolean {
    return this.entries.get(`${channelId}:${bucket}`) !== undefined;
  }

  markEmpty(channelId: Snowflake, bucket: number, epoch: number): void {
    if (epoch !== this.invalidations || !this.isClosed(bucket) || this.maxEntries === 0) return;
    this.entries.set(`${channelId}:${bucket}`, true); // a new TTL, and most recently used
  }

  invalidate(channelId: Snowflake, bucket: number): void {
    if (!this.isClosed(bucket)) return; // never remembered, and reads of it cannot be stale here
    this.entries.delete(`${channelId}:${bucket}`);
    this.invalidations++;
  }

  private isClosed(bucket: number): boolean {
    const closedAt = Number(BigInt(bucket + 1) * BUCKET_SIZE_MS + DISCORD_EPOCH);
    return closedAt + OPEN_BUCKET_GRACE_MS <= this.now();
  }
}
