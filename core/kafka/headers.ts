/** Record headers that are part of the contract between roles (ARCHITECTURE.md, "Topics and keys"). */

/** On `deliveries`: the event's offset on `events` (same partition), for the edge to drop redeliveries. */
export const SOURCE_OFFSET_HEADER = 'x-guildcast-source-offset';

/** The correlation id of an event, from ingest to delivery; also an HTTP response header of ingest. */
export const TRACE_HEADER = 'x-guildcast-trace-id';

/**
 * On `deliveries`: Unix ms when the store acknowledged the event's chunk. Lets the bench (and an
 * operator reading the topic) split end-to-end latency into its hops by each stage's own clock.
 */
export const PERSISTED_AT_HEADER = 'x-guildcast-persisted-at';
