import cassandra from 'cassandra-driver';
import type { StoreConfig } from '../config.ts';

export type CqlClient = cassandra.Client;

/**
 * One long-lived client per process. Without `keyspace` it is connected to no keyspace (for the
 * migration runner, which creates it); every query of ours names its keyspace explicitly anyway.
 */
export function createCqlClient(
  config: Pick<StoreConfig, 'CASSANDRA_CONTACT_POINTS' | 'CASSANDRA_LOCAL_DC' | 'CASSANDRA_USERNAME' | 'CASSANDRA_PASSWORD'>,
): CqlClient {
  return new cassandra.Client({
    contactPoints: config.CASSANDRA_CONTACT_POINTS,
    localDataCenter: config.CASSANDRA_LOCAL_DC,
    ...(config.CASSANDRA_USERNAME
      ? { credentials: { username: config.CASSANDRA_USERNAME, password: config.CASSANDRA_PASSWORD ?? '' } }
      : {}),
    // Snowflakes are bigint in our code; the driver's default would hand back Long objects.
    encoding: { useBigIntAsLong: true, useBigIntAsVarint: true },
    socketOptions: { connectTimeout: 5000, readTimeout: 12_000 },
    // Reads and writes are idempotent by design (INSERT of a full row, DELETE by key): safe to retry.
    queryOptions: { prepare: true, isIdempotent: true, consistency: cassandra.types.consistencies.localQuorum },
    // The default waits up to 10 minutes between reconnection attempts; a store outage should end
    // for us within seconds of the node coming back.
    policies: { reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(250, 5_000, false) },
    pooling: { coreConnectionsPerHost: { [cassandra.types.distance.local]: 2 } },
  });
}
