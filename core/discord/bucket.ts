import type { Snowflake } from './snowflake.ts';

/** Discord's static 10-day window: messages of one channel and one window share a partition. */
export const BUCKET_SIZE_MS = 864_000_000n;

export function bucketOf(id: Snowflake): number {
  return Number((id >> 22n) / BUCKET_SIZE_MS);
}

/** Buckets from `newest` down to `oldest`, inclusive, newest first: the order history reads walk. */
export function bucketsDescending(newest: Snowflake, oldest: Snowflake): number[] {
  const out: number[] = [];
  for (let b = bucketOf(newest), last = bucketOf(oldest); b >= last; b--) out.push(b);
  return out;
}

/** Buckets from `oldest` up to `newest`, inclusive, oldest first. */
export function bucketsAscending(oldest: Snowflake, newest: Snowflake): number[] {
  return bucketsDescending(newest, oldest).reverse();
}
