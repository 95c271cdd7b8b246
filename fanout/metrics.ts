import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type FanoutMetrics = ReturnType<typeof createFanoutMetrics>;

export function createFanoutMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'guildcast_fanout_events_total',
      help: 'Events handled by the persist consumer, by type and outcome (persisted, delivered, replay, dead_lettered).',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'guildcast_fanout_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by stage.',
      labelNames: ['stage'] as const,
      registers,
    }),
    chunkSize: new Histogram({
      name: 'guildcast_fanout_chunk_records',
      help: 'Records per persisted chunk.',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'guildcast_fanout_chunk_write_seconds',
      help: 'Time to persist a chunk (store writes, retries included).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    persistDelaySeconds: new Histogram({
      name: 'guildcast_fanout_persist_delay_seconds',
      help: "From the event's receipt by ingest to its row being written.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    lag: new Gauge({
      name: 'guildcast_fanout_consumer_lag',
      help: "Records between the group's committed offset and the partition's end, per partition.",
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    storeAvailable: new Gauge({
      name: 'guildcast_fanout_store_available',
      help: '1 while store writes succeed, 0 while the consumer is paused retrying them.',
      registers,
    }),
    deliveryRequests: new Histogram({
      name: 'guildcast_fanout_chunk_delivery_requests',
      help: "Produce requests a chunk's deliveries and dead letters took (split to stay under the broker's size limit).",
      buckets: [0, 1, 2, 3, 5, 10, 25],
      registers,
    }),
    replayFilterOmitted: new Counter({
      name: 'guildcast_fanout_replay_filter_omitted_total',
      help: "Shard positions left out of a commit's metadata for lack of room (offset.metadata.max.bytes): their replays after a restart would be delivered again.",
      registers,
    }),
    stateChanges: new Counter({
      name: 'guildcast_fanout_state_changes_total',
      help: 'state-changes records produced: guilds whose stored state a chunk changed.',
      registers,
    }),
    commits: new Counter({
      name: 'guildcast_fanout_offset_commits_total',
      help: 'Offset commit requests (each carries every partition marked since the previous one), by result (ok, failed).',
      labelNames: ['result'] as const,
      registers,
    }),
    rebalances: new Counter({ name: 'guildcast_fanout_rebalances_total', help: 'Group joins of this process.', registers }),
    assignedPartitions: new Gauge({ name: 'guildcast_fanout_assigned_partitions', help: 'Partitions assigned to this process.', registers }),
  };
}
