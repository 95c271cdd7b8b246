import type { Admin, PartitionLag } from './types.ts';

export type { PartitionLag } from './types.ts';

/**
 * A group's lag per partition, from the broker's committed offsets and end offsets. Measured
 * from outside the consume loop on purpose: while a consumer is paused (fanout on a store outage)
 * it fetches nothing, and this is what shows the lag growing.
 */
export async function groupLag(admin: Pick<Admin, 'topicOffsets' | 'committedOffsets'>, groupId: string, topic: string): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([admin.topicOffsets(topic), admin.committedOffsets(groupId, topic)]);
  const committedByPartition = new Map(committed.map((p) => [p.partition, Number(p.offset)] as const));
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
