import type { Logger } from '../logger.ts';
import type { KafkaConfig } from './config.ts';
import type { Admin } from './types.ts';

export interface TopicSpec {
  name: string;
  partitions: number;
  retentionMs: number;
  /** Dead letters are kept longer: somebody has to look at them. */
  cleanup?: 'delete' | 'compact';
}

/** The topics guildcast uses; the names are the contract between roles (ARCHITECTURE.md, "Topics"). */
export function topicNames(config: Pick<KafkaConfig, 'KAFKA_TOPIC_PREFIX'>) {
  const p = config.KAFKA_TOPIC_PREFIX;
  return {
    /** Every dispatch from ingest, keyed by guild. */
    events: `${p}.events`,
    /** Events after fanout persisted them, for the edge; same key and partitioning as `events`. */
    deliveries: `${p}.deliveries`,
    /** Records that could not be parsed or stored, with the reason in headers. */
    deadLetter: `${p}.dead-letter`,
    /** Compacted, keyed by shard id: the last (session_id, seq, resume_url) Kafka acknowledged. */
    ingestCheckpoints: `${p}.ingest-checkpoints`,
    /**
     * Keyed by guild: "this guild's state (or the bot's settings for it) changed in the store".
     * Every process holding a cache of either reads all of it from its end and drops the entry
     * (core/events/state-change.ts), so an update is seen everywhere at once, not after a TTL.
     */
    stateChanges: `${p}.state-changes`,
  } as const;
}
export type TopicNames = ReturnType<typeof topicNames>;

export function standardTopics(config: KafkaConfig): TopicSpec[] {
  const names = topicNames(config);
  const retentionMs = config.KAFKA_RETENTION_HOURS * 3_600_000;
  return [
    { name: names.events, partitions: config.KAFKA_EVENT_PARTITIONS, retentionMs },
    { name: names.deliveries, partitions: config.KAFKA_EVENT_PARTITIONS, retentionMs },
    { name: names.deadLetter, partitions: 1, retentionMs: Math.max(retentionMs, 14 * 86_400_000) },
    { name: names.ingestCheckpoints, partitions: 1, retentionMs: -1, cleanup: 'compact' },
    // Readers start at its end (a cache starts empty), so a day covers any reader's outage worth resuming.
    { name: names.stateChanges, partitions: 1, retentionMs: 86_400_000 },
  ];
}

/**
 * Creates missing topics and leaves existing ones alone. A topic with a different partition count
 * is reported, never changed: adding partitions moves guilds between partitions and breaks their
 * ordering, so that is an operator's decision (docs/operations.md).
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], logger?: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0)
    await admin.createTopics(
      missing.map((s) => ({
        name: s.name,
        partitions: s.partitions,
        configs: { 'retention.ms': String(s.retentionMs), 'cleanup.policy': s.cleanup ?? 'delete' },
      })),
    );
  const present = specs.filter((s) => existing.has(s.name));
  if (present.length > 0) {
    for (const t of await admin.describeTopics(present.map((s) => s.name))) {
      const want = specs.find((s) => s.name === t.name)!.partitions;
      if (t.partitions.length !== want)
        logger?.warn({ topic: t.name, partitions: t.partitions.length, configured: want }, 'topic partition count differs from configuration; left unchanged');
    }
  }
}
