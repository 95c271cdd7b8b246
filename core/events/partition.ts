/**
 * guildcast places a guild on partition `(guild_id >> 22) % partitions`: Discord's own shard
 * formula. With `n` dividing the partition count, everything of gateway shard `i` of `n` lives on
 * the partitions `p` with `p % n == i`, so a consumer (or edge node) serving one shard range can read
 * only its partitions. Events with no guild use their channel id, and ones with neither go to 0.
 */
export function partitionFor(routingId: bigint | undefined, partitions: number): number {
  if (routingId === undefined) return 0;
  return Number((routingId >> 22n) % BigInt(partitions));
}

/** Discord's shard formula, shared by ingest, the edge and the simulator. */
export function shardFor(guildId: bigint, shardCount: number): number {
  return Number((guildId >> 22n) % BigInt(shardCount));
}

/** Record keys are decimal snowflakes; anything else routes to partition 0. */
export function partitionForKey(key: Buffer | string | null | undefined, partitions: number): number {
  if (key == null) return 0;
  const text = typeof key === 'string' ? key : key.toString('utf8');
  return /^\d{1,20}$/.test(text) ? partitionFor(BigInt(text), partitions) : 0;
}

/** A kafkajs `createPartitioner` that applies `partitionForKey`. */
export const guildPartitioner =
  () =>
  ({ partitionMetadata, message }: { partitionMetadata: unknown[]; message: { key?: Buffer | string | null } }) =>
    partitionForKey(message.key, partitionMetadata.length);
