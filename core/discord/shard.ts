/**
 * Discord's shard formula, `(guild_id >> 22) % shard_count`, written once: ingest, the edge, the
 * simulator and the Kafka partitioner all place a guild with it. Applied to partitions, it gives
 * the property guildcast is built on: with `n` dividing the partition count, everything of shard
 * `i` of `n` lives on the partitions `p` with `p % n == i`.
 */
export function shardFor(guildId: bigint, shardCount: number): number {
  return Number((guildId >> 22n) % BigInt(shardCount));
}
