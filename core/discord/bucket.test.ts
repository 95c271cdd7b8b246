import { describe, expect, it } from 'vitest';
import { BUCKET_SIZE_MS, bucketOf, bucketsAscending, bucketsDescending } from './bucket.ts';

describe('buckets', () => {
  it('are floor((id >> 22) / 864000000)', () => {
    expect(bucketOf(0n)).toBe(0);
    const start = (7n * BUCKET_SIZE_MS) << 22n;
    expect(bucketOf(start)).toBe(7);
    expect(bucketOf(start - 1n)).toBe(6);
    expect(bucketOf(175928847299117063n)).toBe(Number((175928847299117063n >> 22n) / 864_000_000n));
  });

  it('list the range between two ids in walk order, inclusive', () => {
    const id = (b: bigint) => (b * BUCKET_SIZE_MS) << 22n;
    expect(bucketsDescending(id(12n) + 5n, id(9n))).toEqual([12, 11, 10, 9]);
    expect(bucketsAscending(id(9n), id(12n))).toEqual([9, 10, 11, 12]);
    expect(bucketsDescending(id(9n), id(12n))).toEqual([]);
  });
});
