import { MAX_REQUEST_BYTES } from '../core/kafka/byte-batches.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import type { TopicNames } from '../core/kafka/topics.ts';
import type { Admin, BatchContext, GroupConsumer, KafkaClient, Producer } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import { backoffDelay } from '../core/retry/backoff.ts';
import { ConsumerHealth } from './consumer-health.ts';
import { ReplayFilter } from './dedupe.ts';
import { deliverChunk } from './deliver-chunk.ts';
import type { FanoutMetrics } from './metrics.ts';
import { CoalescingSender } from './coalescing-sender.ts';
import { OffsetCommitter, type CommitRequest } from './offset-committer.ts';
import type { GuildStateSink, MessageSink } from './persist-chunk.ts';

export interface PersistConsumerOptions {
  kafka: KafkaClient;
  topics: TopicNames;
  groupId: string;
  sink: MessageSink;
  /**
   * The guild-state writer and the events topic's partition count; absent (benchmarks of the
   * message path), guild-state events are delivered without being kept.
   */
  guildState?: { sink: GuildStateSink; partitions: number };
  logger: Logger;
  metrics: FanoutMetrics;
  chunkSize: number;
  partitionsConcurrently: number;
  retryMinMs: number;
  retryMaxMs: number;
  maxUnexpectedFailures: number;
  /** Commits are at least this far apart (offset-committer.ts); default 0. */
  commitIntervalMs?: number;
  /** Bound on one produce request of deliveries and dead letters (default: under the broker's 1 MiB default). */
  maxRequestBytes?: number;
  /** The broker's `offset.metadata.max.bytes` (4096 by default): the replay filter must fit in it. */
  offsetMetadataMaxBytes?: number;
  /** Called when the consumer stopped for good (kafkajs will not restart it); the role makes the process exit. */
  onFatal?(error: Error): void;
}

/** Thrown out of a retry wait when the chunk must be handed back (shutdown or rebalance). */
class ChunkAbandoned extends Error {}

/**
 * No fetch and no finished chunk for this long means the consumer is stuck: it is the group's
 * session timeout, past which the coordinator would have evicted a member that stopped heartbeating.
 */
const STALL_MS = 30_000;

/**
 * The persist consumer group: for each partition, chunk by chunk, write to the store, then
 * produce the chunk's events to `deliveries` (same partition number) and its bad records to the
 * dead-letter topic, and only then mark the chunk's offset for commit, together with the replay
 * filter's state as the commit's metadata. Marks are committed off the chunk's path, every
 * partition's in one request at most every `commitIntervalMs` (OffsetCommitter), so the next
 * fetch never waits on a commit. A rebalance or shutdown during a chunk abandons it unmarked:
 * the next owner starts from the last committed offset and filter, and the writes it repeats are
 * idempotent.
 */
export class PersistConsumer {
  private readonly consumer: GroupConsumer;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly replayFilters = new Map<number, ReplayFilter>();
  private readonly health = new ConsumerHealth(STALL_MS);
  private readonly committer: OffsetCommitter;
  private readonly sender: CoalescingSender;
  private lastOmittedWarning = 0;

  constructor(private readonly options: PersistConsumerOptions) {
    const { kafka, groupId } = options;
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeoutMs: STALL_MS,
      rebalanceTimeoutMs: 60_000,
      heartbeatIntervalMs: 3_000,
      maxBytesPerPartition: 1_048_576,
      maxWaitMs: 100,
    });
    // Not idempotent, and no in-flight limit: partitions are worked on concurrently and their sends
    // must not queue behind one another (with one request in flight, 12 partitions cost 12 round
    // trips per fetch). Order within a partition holds because a partition's requests go out one
    // after another; a retried send can duplicate records, which the edge drops by source offset.
    this.producer = kafka.producer();
    this.admin = kafka.admin();
    this.sender = new CoalescingSender((topicMessages) => this.producer.sendBatch(topicMessages), options.maxRequestBytes ?? MAX_REQUEST_BYTES);
    this.committer = new OffsetCommitter({
      intervalMs: options.commitIntervalMs ?? 0,
      logger: options.logger,
      onCommit: (_partitions, error) => options.metrics.commits.inc({ result: error ? 'failed' : 'ok' }),
    });
    this.consumer.on('join', (e) => {
      options.metrics.rebalances.inc();
      const mine = e.assignment[options.topics.events] ?? [];
      this.health.joined(mine.length);
      options.metrics.assignedPartitions.set(mine.length);
      // A partition that left and came back may have been advanced by someone else meanwhile: its
      // filter is read again from the committed metadata on its first batch; marks of the former
      // assignment are dropped with it, so that offset and filter stay a pair.
      this.replayFilters.clear();
      this.committer.forget();
      options.logger.info({ partitions: mine, memberId: e.memberId }, 'joined fanout group');
    });
    this.consumer.on('fetch', () => this.health.progress());
    this.consumer.on('rebalancing', () => options.logger.info('fanout group rebalancing'));
    this.consumer.on('crash', ({ error, restart }) => {
      this.health.crashed(error, restart);
      this.replayFilters.clear();
      this.committer.forget();
      options.metrics.assignedPartitions.set(0);
      options.logger.error({ err: error, restart }, restart ? 'consumer crashed; kafkajs restarts it' : 'consumer crashed and will not be restarted');
      if (!restart) options.onFatal?.(new Error(`persist consumer crashed: ${error.message}`));
    });
    // No 'stop' listener: kafkajs stops the consumer on every crash, before it says (CRASH) whether
    // it restarts it; only a stop of ours or a crash without restart ends it.
  }

  /** Partitions currently assigned, 0 while crashed or stopped. */
  get assignedPartitions(): number {
    return this.health.assignedPartitions;
  }

  /** Throws unless the consumer is in the group with partitions (readiness). */
  checkAssigned(): void {
    this.health.checkAssigned();
  }

  /** Throws unless the consumer fetched or finished a chunk recently (readiness: working now, not joined once). */
  checkProgress(): void {
    this.health.checkProgress();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.producer.connect();
    // Offsets are committed here, per chunk, with the replay filter as metadata (the seam never
    // commits on its own: a client's own commits would send no metadata and erase it).
    await this.consumer.run({
      topics: [this.options.topics.events],
      from: 'earliest',
      partitionsConcurrently: this.options.partitionsConcurrently,
      autoResolve: false,
      eachBatch: (context) => this.handleBatch(context),
    });
  }

  async stop(): Promise<void> {
    // What finished before the stop is committed while this process is still a member; batches
    // still running commit their last chunk themselves as they leave (handleBatch).
    await this.committer.flush().catch(() => {});
    // stop() waits for running batches (they see isRunning() turn false) and leaves the group.
    await this.consumer.stop();
    this.committer.close();
    await this.producer.disconnect();
    await this.admin.disconnect();
  }

  private async handleBatch(context: BatchContext): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commit } = context;
    const { logger, metrics, topics } = this.options;
    const log = logger.child({ partition: batch.partition });
    const replays = await this.replayFilterFor(batch.partition, log);

    for (let start = 0; start < batch.records.length; start += this.options.chunkSize) {
      if (!isRunning()) return this.committer.flush().catch(() => {});
      if (isStale()) return;
      const chunk = batch.records.slice(start, start + this.options.chunkSize);
      const began = performance.now();
      let outcome;
      try {
        outcome = await deliverChunk(chunk, {
          topic: batch.topic,
          partition: batch.partition,
          sink: this.options.sink,
          ...(this.options.guildState ? { guildState: this.options.guildState } : {}),
          replays,
          maxUnexpectedFailures: this.options.maxUnexpectedFailures,
          beforeRetry: async (attempt, error) => {
            metrics.storeAvailable.set(0);
            log.warn({ attempt, err: error.message }, 'store write failed; pausing this partition and retrying');
            await this.backoff(attempt, { heartbeat, isRunning, isStale });
          },
          deliveriesTopic: topics.deliveries,
          deadLetterTopic: topics.deadLetter,
          stateChangesTopic: topics.stateChanges,
          maxRequestBytes: this.options.maxRequestBytes ?? MAX_REQUEST_BYTES,
          send: (topicMessages) => this.sender.send(topicMessages),
        });
      } catch (err) {
        if (err instanceof ChunkAbandoned) {
          this.replayFilters.delete(batch.partition);
          log.info('chunk abandoned unwritten (shutdown or rebalance); the next owner resumes from the committed offset');
          return;
        }
        log.warn({ err: (err as Error).message, offset: chunk[0]!.offset }, 'chunk not delivered; kafkajs retries it from the last committed offset');
        throw err;
      }
      metrics.storeAvailable.set(1);
      metrics.writeSeconds.observe((performance.now() - began) / 1000);
      metrics.chunkSize.observe(chunk.length);
      metrics.deliveryRequests.observe(outcome.requests);

      const now = Date.now();
      for (const e of outcome.persisted) {
        metrics.events.inc({ type: e.type, outcome: 'persisted' });
        metrics.persistDelaySeconds.observe(Math.max(0, now - e.received_at) / 1000);
      }
      const tracing = log.isLevelEnabled('debug');
      for (const d of outcome.deliveries) {
        metrics.events.inc({ type: d.event.type, outcome: 'delivered' });
        if (tracing) log.debug({ trace_id: d.event.trace_id, type: d.event.type, offset: d.headers[SOURCE_OFFSET_HEADER] }, 'event persisted and handed to the edge');
      }
      if (outcome.stateChanges.length > 0) metrics.stateChanges.inc(outcome.stateChanges.length);
      if (outcome.replays > 0) metrics.events.inc({ type: 'any', outcome: 'replay' }, outcome.replays);
      for (const letter of outcome.deadLetters) {
        metrics.deadLetters.inc({ stage: letter.stage });
        log.warn({ offset: letter.source?.offset, stage: letter.stage, reason: letter.reason, trace_id: letter.traceId }, 'record dead-lettered');
      }

      const last = chunk[chunk.length - 1]!.offset;
      resolveOffset(last);
      this.mark(commit, batch.topic, batch.partition, last, replays, log);
      this.health.progress();
      await heartbeat();
    }
    if (!isRunning()) await this.committer.flush().catch(() => {});
  }

  /** Marks the offset after `last` for commit with the filter's state, so both move together. */
  private mark(commit: CommitRequest, topic: string, partition: number, last: string, replays: ReplayFilter, log: Logger): void {
    const { metadata, omitted } = replays.toMetadata(this.options.offsetMetadataMaxBytes ?? 4096);
    if (omitted > 0) {
      this.options.metrics.replayFilterOmitted.inc(omitted);
      if (Date.now() - this.lastOmittedWarning > 60_000) {
        this.lastOmittedWarning = Date.now();
        log.warn({ omitted, kept: replays.shards - omitted }, "replay filter exceeds the offset metadata bound; the least recently advanced shards are not persisted, and their replays after a restart would be delivered again");
      }
    }
    this.committer.mark({ topic, partition, offset: (BigInt(last) + 1n).toString(), metadata }, commit);
  }

  /** The partition's filter, read from its committed metadata on the first batch after a join. */
  private async replayFilterFor(partition: number, log: Logger): Promise<ReplayFilter> {
    let filter = this.replayFilters.get(partition);
    if (filter) return filter;
    const committed = await this.admin.committedOffsets(this.options.groupId, this.options.topics.events);
    const metadata = committed.find((p) => p.partition === partition)?.metadata;
    const restored = ReplayFilter.fromMetadata(metadata);
    if (!restored.valid) log.warn({ metadata: metadata?.slice(0, 200) }, 'committed offset metadata is not a replay filter; starting with an empty one');
    filter = restored.filter;
    this.replayFilters.set(partition, filter);
    return filter;
  }

  private async backoff(
    attempt: number,
    { heartbeat, isRunning, isStale }: Pick<BatchContext, 'heartbeat' | 'isRunning' | 'isStale'>,
  ): Promise<void> {
    const deadline = Date.now() + backoffDelay(attempt, { minMs: this.options.retryMinMs, maxMs: this.options.retryMaxMs });
    while (Date.now() < deadline) {
      if (!isRunning() || isStale()) throw new ChunkAbandoned();
      await heartbeat();
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(250, deadline - Date.now()))));
    }
    if (!isRunning() || isStale()) throw new ChunkAbandoned();
  }
}
