import { BUCKET_SIZE_MS, bucketOf } from '../../core/discord/bucket.ts';
import { snowflakeAt, type Snowflake } from '../../core/discord/snowflake.ts';
import type { HistoryQuery } from '../read/history.ts';

/**
 * Test support: Discord's history semantics over a plain sorted list, the model the store's
 * bucket walk is checked against, and random channels to check it on.
 */
export function referenceHistory(ids: readonly Snowflake[], query: HistoryQuery): Snowflake[] {
  const limit = query.limit ?? 50;
  const newestFirst = [...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const oldestFirst = [...newestFirst].reverse();
  if (query.before !== undefined) return newestFirst.filter((id) => id < query.before!).slice(0, limit);
  if (query.after !== undefined) return oldestFirst.filter((id) => id > query.after!).slice(0, limit).reverse();
  if (query.around !== undefined) {
    const newer = Math.floor(limit / 2);
    return [
      ...oldestFirst.filter((id) => id > query.around!).slice(0, newer).reverse(),
      ...newestFirst.filter((id) => id <= query.around!).slice(0, limit - newer),
    ];
  }
  return newestFirst.slice(0, limit);
}

/** A small deterministic PRNG, so a failing random case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function bucketStartId(bucket: number): Snowflake {
  return (BigInt(bucket) * BUCKET_SIZE_MS) << 22n;
}

export interface RandomChannel {
  channelId: Snowflake;
  /** Every message id, including those at the edges of buckets and of the channel's life. */
  ids: Snowflake[];
  /** Buckets that hold messages; the buckets between them are empty. */
  buckets: number[];
  /** Ids worth paging from: edges of buckets and of the channel, every message id and its neighbours. */
  anchors: Snowflake[];
}

/**
 * A channel created about `ageDays` ago whose messages sit in four buckets with empty buckets
 * between them, all closed long ago. Includes a message whose id equals the channel's (a thread's
 * starter message) and messages on the first and last millisecond of their bucket.
 */
export function randomChannel(seed: number, { ageDays = 200, perBucket = 40, now = Date.now() } = {}): RandomChannel {
  const random = prng(seed);
  const channelMs = now - ageDays * 86_400_000;
  const channelId = snowflakeAt(channelMs) | BigInt(Math.floor(random() * 4096));
  const first = bucketOf(channelId);
  const buckets = [first, first + 3, first + 4, first + 8];
  const ids = new Set<Snowflake>([channelId]);
  for (const bucket of buckets) {
    const start = bucketStartId(bucket);
    const end = bucketStartId(bucket + 1) - 1n;
    const low = start > channelId ? start : channelId;
    ids.add(low);
    ids.add(end);
    for (let i = 0; i < perBucket; i++) {
      const span = Number((end - low) >> 22n);
      ids.add(low + (BigInt(Math.floor(random() * span)) << 22n) + BigInt(Math.floor(random() * 4096)));
    }
  }
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : 1));
  const edges = buckets.flatMap((b) => [bucketStartId(b), bucketStartId(b) - 1n, bucketStartId(b + 1), bucketStartId(b + 1) - 1n]);
  const anchors = new Set<Snowflake>([0n, channelId - 1n, snowflakeAt(now), snowflakeAt(now + 864_000_000), ...edges]);
  for (const id of sorted) [id - 1n, id, id + 1n].forEach((a) => anchors.add(a));
  return { channelId, ids: sorted, buckets, anchors: [...anchors].filter((a) => a >= 0n) };
}
