import { partitionFor } from '../core/events/partition.ts';
import { guildsOfShard } from './dispatcher.ts';
import type { AccessGrant } from './tokens.ts';

/**
 * Whether a session could have been sent events from `partition` of `partitions`: the sessions to
 * invalidate when that partition lost records. A listed token: one of its guilds on the session's
 * shard lives there. A `"*"` token on shard `[i, n]`: some guild id `x` has `x % n == i` and
 * `x % partitions == partition` exactly when `i ≡ partition (mod gcd(n, partitions))`; shard 0 also
 * gets events without a guild, which can be on any partition.
 */
export function readsPartition(session: { grant: AccessGrant; shard: readonly [number, number] }, partition: number, partitions: number): boolean {
  const [id, count] = session.shard;
  if (session.grant.guilds === '*') return id === 0 || (id - partition) % gcd(count, partitions) === 0;
  return guildsOfShard(session.grant.guilds, id, count).some((guild) => partitionFor(BigInt(guild), partitions) === partition);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
