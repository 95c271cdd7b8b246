import kafkajs, { type Consumer, type IHeaders, type Kafka, type KafkaMessage } from 'kafkajs';
import { NonRetriableError, type ConsumedRecord, type GroupConsumer, type GroupConsumerEvents, type GroupConsumerOptions, type RunOptions } from '../types.ts';

// A CommonJS export Node's ESM loader does not see as a named one.
const { KafkaJSNonRetriableError } = kafkajs;

export class KafkajsGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  /** What was paused through this object: kafkajs's own state mixes topic and partition pauses (and starts empty after it restarts a consumer). */
  private readonly topicsPaused = new Set<string>();
  private readonly partitionsPaused = new Map<string, Set<number>>();

  constructor(kafka: Kafka, options: GroupConsumerOptions) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      ...(options.sessionTimeoutMs !== undefined ? { sessionTimeout: options.sessionTimeoutMs } : {}),
      ...(options.rebalanceTimeoutMs !== undefined ? { rebalanceTimeout: options.rebalanceTimeoutMs } : {}),
      ...(options.heartbeatIntervalMs !== undefined ? { heartbeatInterval: options.heartbeatIntervalMs } : {}),
      ...(options.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
      ...(options.maxWaitMs !== undefined ? { maxWaitTimeInMs: options.maxWaitMs } : {}),
    });
  }

  async run({ topics, from, eachBatch, partitionsConcurrently = 1, autoResolve = true }: RunOptions): Promise<void> {
    await this.consumer.connect();
    try {
      await this.consumer.subscribe({ topics, fromBeginning: from === 'earliest' });
      await this.consumer.run({
        // Offsets move only through `commit`: kafkajs's own commits carry no metadata and would erase ours.
        autoCommit: false,
        eachBatchAutoResolve: autoResolve,
        partitionsConsumedConcurrently: partitionsConcurrently,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary: _, isRunning, isStale }) => {
          try {
            await eachBatch({
              batch: { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, records: batch.messages.map(record) },
              resolveOffset,
              heartbeat,
              commit: (offsets) => this.consumer.commitOffsets(offsets.map((o) => ({ ...o, metadata: o.metadata ?? null }))),
              isRunning,
              isStale,
            });
          } catch (err) {
            // kafkajs leaves only its own non-retriable errors stopped; anything else it restarts.
            if (err instanceof NonRetriableError) throw new KafkaJSNonRetriableError(err.message);
            throw err;
          }
        },
      });
    } catch (err) {
      await this.consumer.disconnect().catch(() => {});
      throw err;
    }
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }

  pause(topic: string, partitions?: readonly number[]): void {
    if (!partitions) {
      this.consumer.pause([{ topic }]);
      this.topicsPaused.add(topic);
      return;
    }
    // kafkajs forgets a topic-wide pause on any partition pause: while the topic is paused, the partitions stay paused by it.
    if (!this.topicsPaused.has(topic) && partitions.length > 0) this.consumer.pause([{ topic, partitions: [...partitions] }]);
    const paused = this.partitionsPaused.get(topic) ?? new Set<number>();
    for (const partition of partitions) paused.add(partition);
    this.partitionsPaused.set(topic, paused);
  }

  resume(topic: string, partitions?: readonly number[]): void {
    if (!partitions) {
      this.consumer.resume([{ topic }]);
      this.topicsPaused.delete(topic);
      // kafkajs's topic-wide resume also resumes every partition: the ones paused on their own are paused again, before any fetch.
      const paused = this.partitionsPaused.get(topic);
      if (paused && paused.size > 0) this.consumer.pause([{ topic, partitions: [...paused] }]);
      return;
    }
    // While the topic is paused, a resumed partition waits for the topic's resume (kafkajs would fetch it at once).
    if (!this.topicsPaused.has(topic) && partitions.length > 0) this.consumer.resume([{ topic, partitions: [...partitions] }]);
    const paused = this.partitionsPaused.get(topic);
    for (const partition of partitions) paused?.delete(partition);
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  on<E extends keyof GroupConsumerEvents>(event: E, listener: (payload: GroupConsumerEvents[E]) => void): void {
    const { events } = this.consumer;
    const on = (name: string, map: (payload: any) => unknown) => this.consumer.on(name as never, (e: { payload: unknown }) => listener(map(e.payload) as GroupConsumerEvents[E]));
    switch (event) {
      case 'join':
        return void on(events.GROUP_JOIN, (p: { memberId: string; memberAssignment: Record<string, number[]> }) => ({ memberId: p.memberId, assignment: p.memberAssignment }));
      case 'rebalancing':
        return void on(events.REBALANCING, () => ({}));
      case 'fetch':
        return void on(events.FETCH, () => ({}));
      case 'heartbeat':
        return void on(events.HEARTBEAT, () => ({}));
      case 'batchEnd':
        return void on(events.END_BATCH_PROCESS, (p: { topic: string; partition: number }) => ({ topic: p.topic, partition: p.partition }));
      case 'stop':
        return void on(events.STOP, () => ({}));
      case 'crash':
        return void on(events.CRASH, (p: { error: Error; restart: boolean }) => ({ error: p.error, restart: p.restart }));
    }
  }
}

function record(message: KafkaMessage): ConsumedRecord {
  return { offset: message.offset, key: message.key, value: message.value, headers: headers(message.headers), timestamp: message.timestamp };
}

function headers(raw: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first : Buffer.from(first);
  }
  return out;
}
