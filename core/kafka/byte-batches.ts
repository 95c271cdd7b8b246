import type { Headers } from './types.ts';

/**
 * The broker refuses a partition's record batch over `message.max.bytes` (1 MiB + 12 bytes by
 * default) with MESSAGE_TOO_LARGE, a non-retriable error. Requests are kept under 1 MiB in total,
 * which keeps every partition's part of them under that limit too.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * What one record adds to a request, estimated from above: key, value and headers, plus 64 bytes
 * for the record's own framing (length, attributes, deltas and varints take at most about 40).
 */
export function recordBytes(record: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Headers }): number {
  let bytes = 64 + size(record.key) + size(record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    bytes += Buffer.byteLength(name) + 8;
    bytes += size(value);
  }
  return bytes;
}

export interface BatchLimits {
  maxBytes: number;
  maxRecords?: number;
}

/**
 * Where the next request taken from `items[start..]` ends (exclusive): as many items as fit
 * within the limits, in order, and always at least one, so a single oversized record still goes
 * out (and fails visibly) instead of stalling everything behind it.
 */
export function batchEnd<T>(items: readonly T[], start: number, limits: BatchLimits, sizeOf: (item: T) => number): number {
  const maxRecords = limits.maxRecords ?? Number.POSITIVE_INFINITY;
  let end = start;
  let bytes = 0;
  while (end < items.length && end - start < maxRecords) {
    bytes += sizeOf(items[end]!);
    if (bytes > limits.maxBytes && end > start) break;
    end++;
  }
  return end;
}

/** `items` cut, in order, into consecutive requests within the limits. */
export function byteBatches<T>(items: readonly T[], limits: BatchLimits, sizeOf: (item: T) => number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; ) {
    const end = batchEnd(items, start, limits, sizeOf);
    out.push(items.slice(start, end));
    start = end;
  }
  return out;
}

function size(value: Buffer | string | null | undefined): number {
  if (value == null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
