import { StoreValidationError } from '../errors.ts';
import { bucketOf } from '../../core/discord/bucket.ts';
import { snowflakeAt, type Snowflake } from '../../core/discord/snowflake.ts';
import type { EmptyBucketCache } from './empty-buckets.ts';

/** Discord's bounds for `limit` on channel history. */
export const HISTORY_LIMIT = { min: 1, max: 100, default: 50 } as const;

/** At most one of before/after/around. Results are always newest first. */
export interface HistoryQuery {
  limit?: number;
  before?: Snowflake;
  after?: Snowflake;
  around?: Snowflake;
}
export type NormalizedHistoryQuery = HistoryQuery & { limit: number };

export type Direction = 'desc' | 'asc';

/** One partition query: ids strictly below (`desc`) or above (`asc`) `bound`, if given, in that order. */
export interface PartitionRequest {
  channelId: Snowflake;
  bucket: number;
  direction: Direction;
  bound?: Snowflake;
  limit: number;
}

/** A row as read; `message` is undefined for a row that reads as deleted (a half row). */
export interface PartitionRow<T> {
  id: Snowflake;
  message: T | undefined;
}

export interface HistoryReaderOptions<T> {
  readPartition: (request: PartitionRequest) => Promise<PartitionRow<T>[]>;
  emptyBuckets: EmptyBucketCache;
  now?: () => number;
  /** Called for each partition skipped because it is known to be empty. */
  onSkip?: () => void;
}

/**
 * Messages newer than the current bucket's start can exist a little ahead of our clock (ids come
 * from other machines): the walk starts at the bucket of now + this.
 */
const CLOCK_SKEW_MS = 60_000;

export function normalizeHistoryQuery(query: HistoryQuery): NormalizedHistoryQuery {
  const limit = query.limit ?? HISTORY_LIMIT.default;
  if (!Number.isInteger(limit) || limit < HISTORY_LIMIT.min || limit > HISTORY_LIMIT.max)
    throw new StoreValidationError([{ reason: `limit must be an integer from ${HISTORY_LIMIT.min} to ${HISTORY_LIMIT.max}, got ${limit}` }]);
  const anchors = (['before', 'after', 'around'] as const).filter((k) => query[k] !== undefined);
  if (anchors.length > 1) throw new StoreValidationError([{ reason: `only one of before, after, around may be given, got ${anchors.join(', ')}` }]);
  for (const k of anchors) {
    const v = query[k];
    if (typeof v !== 'bigint' || v < 0n) throw new StoreValidationError([{ reason: `${k} must be a snowflake` }]);
  }
  return { ...query, limit };
}

/**
 * Reads one page of a channel's history with Discord's semantics, walking one partition at a time
 * from the newest relevant bucket down to the channel's own (a channel is older than its messages),
 * or upward to the current bucket for `after`, and stopping as soon as the page is full.
 */
export function createHistoryReader<T>({ readPartition, emptyBuckets, now = Date.now, onSkip }: HistoryReaderOptions<T>) {
  async function walk(channelId: Snowflake, direction: Direction, bound: Snowflake | undefined, limit: number): Promise<T[]> {
    const out: T[] = [];
    if (limit <= 0) return out;
    const first = bucketOf(channelId);
    const last = bucketOf(snowflakeAt(now() + CLOCK_SKEW_MS));
    const boundBucket = bound === undefined ? undefined : bucketOf(bound);
    const [from, to, step] =
      direction === 'desc'
        ? [boundBucket === undefined ? last : Math.min(boundBucket, last), first, -1]
        : [boundBucket === undefined ? first : Math.max(boundBucket, first), last, 1];
    for (let bucket = from; step < 0 ? bucket >= to : bucket <= to; bucket += step) {
      if (emptyBuckets.has(channelId, bucket)) {
        onSkip?.();
        continue;
      }
      // The bound only cuts into its own bucket; every other bucket in the walk lies wholly beyond it.
      let within = bucket === boundBucket ? bound : undefined;
      for (;;) {
        const wanted = limit - out.length;
        const epoch = emptyBuckets.epoch;
        const rows = await readPartition({ channelId, bucket, direction, ...(within === undefined ? {} : { bound: within }), limit: wanted });
        if (rows.length === 0 && within === undefined) emptyBuckets.markEmpty(channelId, bucket, epoch);
        for (const row of rows) if (row.message !== undefined) out.push(row.message);
        if (out.length >= limit) return out;
        if (rows.length < wanted) break; // partition exhausted
        within = rows[rows.length - 1]!.id; // half rows took places in the page: read on past them
      }
    }
    return out;
  }

  return async function readHistory(channelId: Snowflake, query: HistoryQuery): Promise<T[]> {
    const { limit, before, after, around } = normalizeHistoryQuery(query);
    if (after !== undefined) return (await walk(channelId, 'asc', after, limit)).reverse();
    if (around !== undefined) {
      // Discord centres the page on the id: the newer half above it, the rest at or below it.
      const newerCount = Math.floor(limit / 2);
      const [newer, older] = await Promise.all([
        walk(channelId, 'asc', around, newerCount),
        walk(channelId, 'desc', around + 1n, limit - newerCount),
      ]);
      return [...newer.reverse(), ...older];
    }
    return walk(channelId, 'desc', before, limit);
  };
}
