import { describe, expect, it } from 'vitest';
import { StoreValidationError } from '../errors.ts';
import { bucketOf } from '../../core/discord/bucket.ts';
import { snowflakeAt, type Snowflake } from '../../core/discord/snowflake.ts';
import { randomChannel, referenceHistory } from '../test-support/reference-history.ts';
import { EmptyBucketCache, OPEN_BUCKET_GRACE_MS } from './empty-buckets.ts';
import { createHistoryReader, type PartitionRequest, type PartitionRow } from './history.ts';

/** An in-memory table with the CQL page semantics the repository's reader has. */
function memoryTable(ids: readonly Snowflake[], halfRows: ReadonlySet<Snowflake> = new Set()) {
  const requests: PartitionRequest[] = [];
  const readPartition = async ({ channelId, bucket, direction, bound, limit }: PartitionRequest): Promise<PartitionRow<Snowflake>[]> => {
    requests.push({ channelId, bucket, direction, limit, ...(bound === undefined ? {} : { bound }) });
    const rows = ids
      .filter((id) => bucketOf(id) === bucket)
      .filter((id) => bound === undefined || (direction === 'desc' ? id < bound : id > bound))
      .sort((a, b) => (direction === 'desc' ? (a < b ? 1 : -1) : a < b ? -1 : 1));
    return rows.slice(0, limit).map((id) => ({ id, message: halfRows.has(id) ? undefined : id }));
  };
  return { readPartition, requests };
}

describe('history reader (bucket walk) against the in-memory model', () => {
  const now = Date.now();
  const channel = randomChannel(7, { now, perBucket: 25 });
  const limits = [1, 2, 3, 49, 50, 100];

  it('matches the model for latest, before, after and around on every edge', async () => {
    const table = memoryTable(channel.ids);
    const read = createHistoryReader({ readPartition: table.readPartition, emptyBuckets: new EmptyBucketCache({ maxEntries: 1000, ttlMs: 60_000, now: () => now }), now: () => now });
    let checked = 0;
    for (const limit of limits) {
      expect(await read(channel.channelId, { limit })).toEqual(referenceHistory(channel.ids, { limit }));
      for (const anchor of channel.anchors) {
        for (const kind of ['before', 'after', 'around'] as const) {
          const query = { limit, [kind]: anchor };
          expect(await read(channel.channelId, query), `${kind}=${anchor} limit=${limit}`).toEqual(referenceHistory(channel.ids, query));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('reads past rows that read as deleted, within the same partition', async () => {
    const halfRows = new Set(channel.ids.filter((_, i) => i % 3 === 0));
    const live = channel.ids.filter((id) => !halfRows.has(id));
    const table = memoryTable(channel.ids, halfRows);
    const read = createHistoryReader({ readPartition: table.readPartition, emptyBuckets: new EmptyBucketCache({ maxEntries: 1000, ttlMs: 60_000, now: () => now }), now: () => now });
    for (const limit of limits) {
      expect(await read(channel.channelId, { limit })).toEqual(referenceHistory(live, { limit }));
      for (const anchor of channel.anchors.filter((_, i) => i % 5 === 0)) {
        expect(await read(channel.channelId, { limit, around: anchor })).toEqual(referenceHistory(live, { limit, around: anchor }));
        expect(await read(channel.channelId, { limit, after: anchor })).toEqual(referenceHistory(live, { limit, after: anchor }));
      }
    }
  });

  it('queries one partition at a time, stops when the page is full, and skips buckets it found empty', async () => {
    const table = memoryTable(channel.ids);
    const emptyBuckets = new EmptyBucketCache({ maxEntries: 1000, ttlMs: 60_000, now: () => now });
    let skipped = 0;
    const read = createHistoryReader({ readPartition: table.readPartition, emptyBuckets, now: () => now, onSkip: () => skipped++ });
    const all = channel.ids.length;
    await read(channel.channelId, { limit: 100 });
    const firstWalk = table.requests.length;
    // From the current bucket down: every empty bucket above the newest message's one is queried once.
    const newestBucket = bucketOf(channel.ids[all - 1]!);
    expect(table.requests[0]!.bucket).toBeGreaterThan(newestBucket);
    expect(table.requests.every((r, i) => i === 0 || r.bucket < table.requests[i - 1]!.bucket)).toBe(true);
    table.requests.length = 0;
    await read(channel.channelId, { limit: 100 });
    expect(table.requests.length).toBeLessThan(firstWalk);
    // Only buckets with messages are read again, and the open bucket, which is never remembered as empty.
    const openFrom = bucketOf(snowflakeAt(now - OPEN_BUCKET_GRACE_MS));
    expect(table.requests.filter((r) => !channel.buckets.includes(r.bucket)).every((r) => r.bucket >= openFrom)).toBe(true);
    expect(skipped).toBeGreaterThan(0);

    // A full page from the newest bucket alone never touches the older ones.
    table.requests.length = 0;
    await read(channel.channelId, { limit: 1 });
    expect(table.requests.map((r) => r.bucket).filter((b) => b < openFrom)).toEqual([newestBucket]);
  });

  it('never walks below the channel\'s own bucket', async () => {
    const table = memoryTable(channel.ids);
    const read = createHistoryReader({ readPartition: table.readPartition, emptyBuckets: new EmptyBucketCache({ maxEntries: 0, ttlMs: 1, now: () => now }), now: () => now });
    expect(await read(channel.channelId, { before: channel.channelId })).toEqual([]);
    expect(table.requests.every((r) => r.bucket >= bucketOf(channel.channelId))).toBe(true);
  });

  it('rejects a bad limit and combined anchors', async () => {
    const read = createHistoryReader({ readPartition: memoryTable([]).readPartition, emptyBuckets: new EmptyBucketCache({ maxEntries: 1, ttlMs: 1 }) });
    for (const limit of [0, 101, 1.5]) await expect(read(1n, { limit })).rejects.toBeInstanceOf(StoreValidationError);
    await expect(read(1n, { before: 5n, after: 2n })).rejects.toThrow(/only one of before, after, around/);
  });
});
