import { Counter, type Registry } from 'prom-client';

export interface StoreMetrics {
  dbQueries: Counter<'query'>;
  coalescedReads: Counter<'read'>;
  emptyBucketsSkipped: Counter;
}

/** Registered once per registry; a second store on the same registry shares the counters. */
export function storeMetrics(registry: Registry): StoreMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });
  return {
    dbQueries: counter('guildcast_store_db_queries_total', 'CQL statements sent to the database, by kind', ['query']),
    coalescedReads: counter('guildcast_store_coalesced_reads_total', 'Reads answered by joining an identical read already in flight', ['read']),
    emptyBucketsSkipped: counter('guildcast_store_empty_buckets_skipped_total', 'History partitions not queried because they are known to be empty', []),
  };
}
