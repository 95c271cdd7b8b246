import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The ingest role's metrics, registered on the registry the process passes in. */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    received: new Counter({ name: 'guildcast_ingest_events_received_total', help: 'Dispatches and HTTP messages received, by type', labelNames: ['type', 'source'], registers }),
    published: new Counter({ name: 'guildcast_ingest_events_published_total', help: 'Events Kafka acknowledged, by type', labelNames: ['type'], registers }),
    deadLettered: new Counter({ name: 'guildcast_ingest_events_dead_lettered_total', help: 'Inputs that could not become an event, by type and stage', labelNames: ['type', 'stage'], registers }),
    replaysSkipped: new Counter({ name: 'guildcast_ingest_replayed_dispatches_skipped_total', help: 'Replayed dispatches dropped because this process already holds them', labelNames: ['shard'], registers }),
    shed: new Counter({ name: 'guildcast_ingest_dispatches_shed_total', help: 'Dispatches dropped while the buffer was full, to be replayed by a RESUME', labelNames: ['shard'], registers }),
    batchRecords: new Histogram({ name: 'guildcast_ingest_publish_batch_records', help: 'Records per Kafka send', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000], registers }),
    bufferRecords: new Gauge({ name: 'guildcast_ingest_buffer_records', help: 'Records queued or in flight to Kafka', registers }),
    bufferBytes: new Gauge({ name: 'guildcast_ingest_buffer_bytes', help: 'Bytes of records queued or in flight to Kafka', registers }),
    ackLatency: new Histogram({ name: 'guildcast_ingest_ack_latency_seconds', help: 'From enqueue to Kafka acknowledgement of the oldest record of each batch', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    sendFailures: new Counter({ name: 'guildcast_ingest_publish_failures_total', help: 'Kafka sends that failed and will be retried', registers }),
    shardStatus: new Gauge({ name: 'guildcast_ingest_shard_status', help: '0 idle, 1 connecting, 2 resuming, 3 ready', labelNames: ['shard'], registers }),
    paused: new Gauge({ name: 'guildcast_ingest_shards_paused', help: '1 while the shards are stopped because the Kafka buffer is full', registers }),
    pauses: new Counter({ name: 'guildcast_ingest_backpressure_pauses_total', help: 'Times the shards were stopped because the Kafka buffer was full', registers }),
    resumes: new Counter({ name: 'guildcast_ingest_shard_resumes_total', help: 'Sessions resumed', labelNames: ['shard'], registers }),
    identifies: new Counter({ name: 'guildcast_ingest_shard_identifies_total', help: 'New sessions (READY)', labelNames: ['shard'], registers }),
    sequenceGaps: new Counter({ name: 'guildcast_ingest_sequence_gaps_total', help: 'Sequence gaps: missing dispatches inside a session, or a whole session lost to a re-identify', labelNames: ['shard', 'kind'], registers }),
    checkpointWrites: new Counter({ name: 'guildcast_ingest_checkpoint_writes_total', help: 'Durable checkpoints written', registers }),
    httpRequests: new Counter({ name: 'guildcast_ingest_http_requests_total', help: 'HTTP ingest requests by status', labelNames: ['status'], registers }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
