import { shardFor } from '../discord/shard.ts';
import { parseSnowflake } from '../discord/snowflake.ts';

/**
 * guildcast places a guild on partition `(guild_id >> 22) % partitions`: Discord's own shard
 * formula (`shardFor`, with the partitions as shards). With `n` dividing the partition count,
 * everything of gateway shard `i` of `n` lives on the partitions `p` with `p % n == i`, so a
 * consumer (or edge node) serving one shard range can read only its partitions. Events with no
 * guild use their channel id, and ones with neither go to 0.
 */
export function partitionFor(routingId: bigint | undefined, partitions: number): number {
  return routingId === undefined ? 0 : shardFor(routingId, partitions);
}

/** Re-exported for the modules that import it from here; the formula lives in core/discord/shard.ts. */
export { shardFor };

/** Record keys are decimal snowflakes; anything else routes to partition 0. */
export function partitionForKey(key: Buffer | string | null | undefined, partitions: number): number {
  if (key == null) return 0;
  const id = parseSnowflake(typeof key === 'string' ? key : key.toString('utf8'));
  return id === undefined ? 0 : shardFor(id, partitions);
}

/** A kafkajs `createPartitioner` that applies `partitionForKey`. */
export const guildPartitioner =
  () =>
  ({ partitionMetadata, message }: { partitionMetadata: unknown[]; message: { key?: Buffer | string | null } }) =>
    partitionForKey(message.key, partitionMetadata.length);
