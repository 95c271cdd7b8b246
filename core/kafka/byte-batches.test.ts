import { describe, expect, it } from 'vitest';
import { batchEnd, byteBatches, recordBytes } from './byte-batches.ts';

describe('byte-bounded batches', () => {
  const size = (n: number) => n;

  it('cuts in order at the byte bound, and at the record bound', () => {
    expect(byteBatches([4, 4, 4, 4, 4], { maxBytes: 10 }, size)).toEqual([[4, 4], [4, 4], [4]]);
    expect(byteBatches([1, 1, 1, 1, 1], { maxBytes: 100, maxRecords: 2 }, size)).toEqual([[1, 1], [1, 1], [1]]);
    expect(byteBatches([], { maxBytes: 10 }, size)).toEqual([]);
  });

  it('lets one oversized item go alone rather than stall the rest', () => {
    expect(byteBatches([3, 50, 3], { maxBytes: 10 }, size)).toEqual([[3], [50], [3]]);
    expect(batchEnd([50, 1], 0, { maxBytes: 10 }, size)).toBe(1);
  });

  it('starts from an index, as a queue with a head does', () => {
    expect(batchEnd([9, 9, 1, 1, 9], 2, { maxBytes: 5 }, size)).toBe(4);
  });

  it('counts key, value and headers of a record', () => {
    const bare = recordBytes({ key: null, value: Buffer.alloc(100) });
    expect(recordBytes({ key: 'abc', value: Buffer.alloc(100), headers: { 'x-h': 'value' } })).toBe(bare + 3 + 3 + 8 + 5);
  });
});
