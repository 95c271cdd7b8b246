import type { Admin } from 'kafkajs';

export interface PartitionLag {
  partition: number;
  lag: number;
}

/**
 * A group's lag per partition, from the broker's committed offsets and end offsets. Measured
 * from outside the consume loop on purpose: while the consumer is paused on a store outage it
 * fetches nothing, and this is what shows the lag growing.
 */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committedByPartition = new Map(
    (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)] as const),
  );
  return ends
    .map((end) => {
      const high = Number(end.high);
      const low = Number(end.low);
      const at = committedByPartition.get(end.partition) ?? -1;
      // -1: nothing committed yet; the group will start at the earliest retained offset.
      return { partition: end.partition, lag: Math.max(0, high - (at < 0 ? low : at)) };
    })
    .sort((a, b) => a.partition - b.partition);
}
