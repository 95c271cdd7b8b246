import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The edge's metrics, on the registry the process passes in. */
export function createEdgeMetrics(registry: Registry) {
  const registers = [registry];
  const source = { countSessions: (): { connected: number; resumable: number } => ({ connected: 0, resumable: 0 }) };
  return {
    /** Where the sessions gauge reads its values at scrape time. */
    sessionSource: source,
    connections: new Gauge({ name: 'guildcast_edge_connections', help: 'Open websocket connections', registers }),
    tcpConnections: new Gauge({ name: 'guildcast_edge_tcp_connections', help: 'Open TCP connections of the server, every kind (bounded by EDGE_MAX_CONNECTIONS)', registers }),
    connectionsRefused: new Counter({ name: 'guildcast_edge_connections_refused_total', help: 'Connections refused at accept or upgrade, by reason (per_address, capacity, websocket_capacity)', registers, labelNames: ['reason'] as const }),
    connectionsDropped: new Counter({ name: 'guildcast_edge_connections_dropped_total', help: 'Accepted connections dropped for idling, by reason (handshake_timeout, evicted_idle, evicted_unidentified)', registers, labelNames: ['reason'] as const }),
    sessions: new Gauge({
      name: 'guildcast_edge_sessions',
      help: 'Live sessions: connected, or disconnected within their resume window',
      registers,
      labelNames: ['state'] as const,
      collect() {
        const { connected, resumable } = source.countSessions();
        this.set({ state: 'connected' }, connected);
        this.set({ state: 'resumable' }, resumable);
      },
    }),
    identifies: new Counter({ name: 'guildcast_edge_identifies_total', help: 'Successful IDENTIFYs', registers }),
    resumes: new Counter({ name: 'guildcast_edge_resumes_total', help: 'RESUME attempts by result', registers, labelNames: ['result'] as const }),
    eventsDelivered: new Counter({ name: 'guildcast_edge_events_delivered_total', help: 'Dispatch frames written to sockets (rate() for per second)', registers }),
    bytesOut: new Counter({ name: 'guildcast_edge_bytes_out_total', help: 'Websocket bytes written to sockets', registers }),
    slowConsumerCloses: new Counter({ name: 'guildcast_edge_slow_consumer_closes_total', help: 'Connections closed because their unsent bytes passed EDGE_MAX_BUFFERED_BYTES', registers }),
    closes: new Counter({ name: 'guildcast_edge_closes_total', help: 'Connections the edge closed, by close code', registers, labelNames: ['code'] as const }),
    sessionLag: new Histogram({
      name: 'guildcast_edge_session_lag_seconds',
      help: 'Per session and flush: time from the oldest event in the flush entering guildcast to its write on the socket',
      registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    feedBytes: new Counter({ name: 'guildcast_edge_feed_bytes_total', help: 'Bytes of deliveries records this node fetched for its live feed (key + value + headers): only the partitions its sessions want', registers }),
    feedPartitions: new Gauge({ name: 'guildcast_edge_feed_partitions', help: 'Partitions of deliveries this node reads (wanted by its sessions)', registers }),
    replayBytes: new Counter({ name: 'guildcast_edge_replay_bytes_total', help: 'Bytes of deliveries records this node read to replay ranges for RESUMEs (key + value + headers)', registers }),
    replays: new Counter({ name: 'guildcast_edge_feed_replays_total', help: 'Feed replays (for RESUME on a node that did not hold the session), by result (done, gone, failed)', registers, labelNames: ['result'] as const }),
    recordsConsumed: new Counter({ name: 'guildcast_edge_records_consumed_total', help: 'Delivery records read from Kafka', registers }),
    recordsInvalid: new Counter({ name: 'guildcast_edge_records_invalid_total', help: 'Delivery records that failed validation (dead-lettered)', registers }),
    redeliveriesDropped: new Counter({ name: 'guildcast_edge_redeliveries_dropped_total', help: 'Delivery records dropped because their source offset was already passed', registers }),
    consumerRestarts: new Counter({
      name: 'guildcast_edge_consumer_restarts_total',
      help: 'Deliveries consumer crashes, by who restarts it (client: kafkajs; edge: recreated by the edge); each resumes from the edge\'s own positions',
      registers,
      labelNames: ['by'] as const,
    }),
    deliveriesLost: new Counter({ name: 'guildcast_edge_deliveries_lost_total', help: 'Delivery records gone from Kafka before this edge read them (retention, deleted records); their sessions got op 9', registers }),
    resumeRepeats: new Counter({
      name: 'guildcast_edge_resume_repeats_total',
      help: 'Frames a RESUME on another node sent again: the client\'s seq minus the seq of the checkpoint it resumed from (0 after a drain; events after the last checkpoint after a crash)',
      registers,
    }),
    resumePaths: new Counter({ name: 'guildcast_edge_resumes_by_path_total', help: 'Successful RESUMEs by path (local: from this node\'s ring; replayed: taken over from the session store and replayed from the feed)', registers, labelNames: ['path'] as const }),
    resumeReplayed: new Counter({ name: 'guildcast_edge_resume_replayed_events_total', help: 'Events replayed from the feed to sessions taken over on RESUME', registers }),
    checkpointWrites: new Counter({ name: 'guildcast_edge_session_checkpoint_writes_total', help: 'Session state writes to the session store, by result (ok, failed)', registers, labelNames: ['result'] as const }),
    sessionsInvalidated: new Counter({ name: 'guildcast_edge_sessions_invalidated_total', help: 'Sessions sent op 9 (not resumable) because deliveries they needed were lost', registers }),
  };
}
export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;
