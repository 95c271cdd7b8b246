import { BUCKET_SIZE_MS } from '../model/bucket.ts';
import { DISCORD_EPOCH, type Snowflake } from '../model/snowflake.ts';

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
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private invalidations = 0;

  constructor({ maxEntries, ttlMs, now = Date.now }: EmptyBucketCacheOptions) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Changes whenever a remembered-able bucket is written; see `markEmpty`. */
  get epoch(): number {
    return this.invalidations;
  }

  has(channelId: Snowflake, bucket: number): boolean {
    const key = `${channelId}:${bucket}`;
    const expires = this.entries.get(key);
    if (expires === undefined) return false;
    this.entries.delete(key);
    if (expires <= this.now()) return false;
    this.entries.set(key, expires); // most recently used goes last
    return true;
  }

  markEmpty(channelId: Snowflake, bucket: number, epoch: number): void {
    if (epoch !== this.invalidations || !this.isClosed(bucket) || this.maxEntries === 0) return;
    const key = `${channelId}:${bucket}`;
    this.entries.delete(key);
    this.entries.set(key, this.now() + this.ttlMs);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
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
