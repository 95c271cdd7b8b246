import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { deadLetterMessage } from '../core/kafka/dead-letter.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import type { TopicNames } from '../core/kafka/topics.ts';
import type { Logger } from '../core/logger.ts';
import { ReplayFilter } from './dedupe.ts';
import type { FanoutMetrics } from './metrics.ts';
import { persistChunk, type MessageSink } from './persist-chunk.ts';

export interface PersistConsumerOptions {
  kafka: Kafka;
  topics: TopicNames;
  groupId: string;
  sink: MessageSink;
  logger: Logger;
  metrics: FanoutMetrics;
  chunkSize: number;
  partitionsConcurrently: number;
  retryMinMs: number;
  retryMaxMs: number;
  maxUnexpectedFailures: number;
}

/** Thrown out of a retry wait when the chunk must be handed back (shutdown or rebalance). */
class ChunkAbandoned extends Error {}

/**
 * The persist consumer group: for each partition, chunk by chunk, write to the store, then
 * produce the chunk's events to `deliveries` (same partition number) and its bad records to the
 * dead-letter topic, and only then resolve and commit the chunk's offsets. A rebalance or shutdown
 * during a chunk abandons it unresolved: the next owner starts from the last committed offset, and
 * the writes it repeats are idempotent.
 */
export class PersistConsumer {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly replayFilters = new Map<number, ReplayFilter>();
  private assigned = 0;

  constructor(private readonly options: PersistConsumerOptions) {
    const { kafka, groupId } = options;
    this.consumer = kafka.consumer({
      groupId,
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 1_048_576,
      maxWaitTimeInMs: 100,
    });
    // Not idempotent, and no in-flight limit: partitions are worked on concurrently and their sends
    // must not queue behind one another (with one request in flight, 12 partitions cost 12 round
    // trips per fetch). Order within a partition holds because a partition's next chunk waits for
    // this send; a retried send can duplicate records, which the edge drops by source offset.
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      options.metrics.rebalances.inc();
      const mine = e.payload.memberAssignment[options.topics.events] ?? [];
      this.assigned = mine.length;
      options.metrics.assignedPartitions.set(mine.length);
      // A partition that left and came back may have been advanced by someone else meanwhile.
      this.replayFilters.clear();
      options.logger.info({ partitions: mine, memberId: e.payload.memberId }, 'joined fanout group');
    });
    this.consumer.on(REBALANCING, () => options.logger.info('fanout group rebalancing'));
    this.consumer.on(CRASH, (e) => options.logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed'));
  }

  /** Partitions currently assigned (readiness: fanout is ready once it has joined the group). */
  get assignedPartitions(): number {
    return this.assigned;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topics.events, fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConcurrently,
      eachBatchAutoResolve: false,
      autoCommitInterval: 1_000,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  async stop(): Promise<void> {
    // disconnect() waits for running batches (they see isRunning() turn false) and leaves the group.
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const { logger, metrics, topics } = this.options;
    const replays = this.replayFilterFor(batch.partition);
    const log = logger.child({ partition: batch.partition });

    for (let start = 0; start < batch.messages.length; start += this.options.chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(start, start + this.options.chunkSize);
      const began = performance.now();
      let outcome;
      try {
        outcome = await persistChunk(chunk, {
          topic: batch.topic,
          partition: batch.partition,
          sink: this.options.sink,
          replays,
          maxUnexpectedFailures: this.options.maxUnexpectedFailures,
          beforeRetry: async (attempt, error) => {
            metrics.storeAvailable.set(0);
            log.warn({ attempt, err: error.message }, 'store write failed; pausing this partition and retrying');
            await this.backoff(attempt, { heartbeat, isRunning, isStale });
          },
        });
      } catch (err) {
        if (err instanceof ChunkAbandoned) {
          this.replayFilters.delete(batch.partition);
          log.info('chunk abandoned unwritten (shutdown or rebalance); the next owner resumes from the committed offset');
          return;
        }
        throw err;
      }
      metrics.storeAvailable.set(1);
      metrics.writeSeconds.observe((performance.now() - began) / 1000);
      metrics.chunkSize.observe(chunk.length);

      const deliveries = outcome.deliveries.map((d) => ({ partition: batch.partition, key: d.key, value: d.value, headers: d.headers }));
      const topicMessages = [];
      if (deliveries.length > 0) topicMessages.push({ topic: topics.deliveries, messages: deliveries });
      if (outcome.deadLetters.length > 0)
        topicMessages.push({ topic: topics.deadLetter, messages: outcome.deadLetters.map(deadLetterMessage) });
      if (topicMessages.length > 0) await this.producer.sendBatch({ acks: -1, topicMessages });

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
      if (outcome.replays > 0) metrics.events.inc({ type: 'any', outcome: 'replay' }, outcome.replays);
      for (const letter of outcome.deadLetters) {
        metrics.deadLetters.inc({ stage: letter.stage });
        log.warn({ offset: letter.source?.offset, stage: letter.stage, reason: letter.reason, trace_id: letter.traceId }, 'record dead-lettered');
      }

      resolveOffset(chunk[chunk.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  private replayFilterFor(partition: number): ReplayFilter {
    let filter = this.replayFilters.get(partition);
    if (!filter) this.replayFilters.set(partition, (filter = new ReplayFilter()));
    return filter;
  }

  private async backoff(
    attempt: number,
    { heartbeat, isRunning, isStale }: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
  ): Promise<void> {
    const { retryMinMs, retryMaxMs } = this.options;
    const ceiling = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt - 1, 20));
    const deadline = Date.now() + ceiling / 2 + Math.random() * (ceiling / 2);
    while (Date.now() < deadline) {
      if (!isRunning() || isStale()) throw new ChunkAbandoned();
      await heartbeat();
      await new Promise((r) => setTimeout(r, Math.min(250, deadline - Date.now())));
    }
    if (!isRunning() || isStale()) throw new ChunkAbandoned();
  }
}
