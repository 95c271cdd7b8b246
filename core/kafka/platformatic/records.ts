import type { fetchV17 } from '@platformatic/kafka';
import type { ConsumedRecord } from '../types.ts';

// The attribute bit of a transaction marker batch (commit/abort): it carries no user records.
const IS_CONTROL = 0b10_0000;

export interface PartitionRecords {
  records: ConsumedRecord[];
  /** One past the last offset the response covered (control batches included); undefined: no batch at all. */
  next: bigint | undefined;
}

/**
 * A fetched partition's record batches as the seam's records, from `from` on: a batch may start
 * before the offset asked for (the broker returns whole batches), and those earlier records were
 * handled already. Built here, per partition, instead of per message through the library's
 * stream, so a batch handler gets everything one fetch returned for its partition at once.
 */
export function partitionRecords(partition: fetchV17.FetchResponsePartition, from: bigint): PartitionRecords {
  const batches = partition.records;
  if (!batches || batches.length === 0) return { records: [], next: undefined };
  const records: ConsumedRecord[] = [];
  let next: bigint | undefined;
  for (const batch of batches) {
    next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (batch.attributes & IS_CONTROL) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      const headers: Record<string, Buffer> = {};
      for (const [name, value] of record.headers) {
        if (name === null) continue;
        const key = name.toString();
        // A header repeated in one record keeps its first value (the seam's rule, as kafkajs' adapter does).
        if (!(key in headers)) headers[key] = value ?? Buffer.alloc(0);
      }
      records.push({ offset: offset.toString(), key: record.key, value: record.value, headers, timestamp: (batch.firstTimestamp + record.timestampDelta).toString() });
    }
  }
  return { records, next };
}
