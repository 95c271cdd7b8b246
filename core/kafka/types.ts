/**
 * The Kafka seam: what roles, tools and tests use to talk to Kafka. Plain data only (topic names,
 * partition numbers, offsets as decimal strings, Buffers), no client library's types, so a second
 * implementation (e.g. @platformatic/kafka) can sit behind it next to the kafkajs one in
 * `kafkajs/`. `createKafka` (client.ts) builds the configured implementation.
 */

/** An int64 offset as a decimal string (what the wire carries; BigInt(offset) to compute with it). */
export type Offset = string;

/** Record headers as produced; a consumed record's values are Buffers. */
export type Headers = Record<string, Buffer | string>;

export interface OutgoingRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Headers;
  /** Set: this partition, whatever the producer's partitioner says. */
  partition?: number;
}

export interface TopicMessages {
  topic: string;
  messages: OutgoingRecord[];
}

export interface ConsumedRecord {
  offset: Offset;
  key: Buffer | null;
  value: Buffer | null;
  /** A header repeated in one record keeps its first value. */
  headers: Record<string, Buffer>;
  /** Milliseconds since the epoch, as a decimal string (the record's CreateTime or LogAppendTime). */
  timestamp: string;
}

/** The records one fetch returned for one partition, in offset order. */
export interface RecordBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** The partition's end offset as of this fetch. */
  highWatermark: Offset;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read (one past the last one handled). */
  offset: Offset;
  /** Stored with the offset by the broker (bounded by its `offset.metadata.max.bytes`). */
  metadata?: string | null;
}

export type Compression = 'none' | 'gzip';

/** Picks a record's partition from its key and the topic's partition count. */
export type Partitioner = (key: Buffer | string | null | undefined, partitions: number) => number;

export interface ProducerOptions {
  /** Exactly-once per partition across retries (one request in flight). Default false. */
  idempotent?: boolean;
  /** Default: the client's own (murmur2 of the key). */
  partitioner?: Partitioner;
}

export interface SendOptions {
  compression?: Compression;
}

/** Every send waits for all in-sync replicas (acks=all): nothing in guildcast is fire-and-forget. */
export interface Producer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(request: TopicMessages & SendOptions): Promise<void>;
  /** One request covering several topics. */
  sendBatch(topicMessages: TopicMessages[], options?: SendOptions): Promise<void>;
}

/** What a batch handler gets besides the records. */
export interface BatchContext {
  batch: RecordBatch;
  /** Marks `offset` as handled: with `autoResolve` off, the next fetch starts after the last resolved offset. */
  resolveOffset(offset: Offset): void;
  /** Keeps the membership alive during long work. */
  heartbeat(): Promise<void>;
  /** Commits offsets (with metadata) for this group now. */
  commit(offsets: CommitOffset[]): Promise<void>;
  /** False once the consumer is stopping: leave the batch. */
  isRunning(): boolean;
  /** True once the partition was taken away (rebalance) or sought elsewhere: leave the batch. */
  isStale(): boolean;
}

export interface GroupConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  /** How long a fetch waits on the broker for records. */
  maxWaitMs?: number;
}

export interface RunOptions {
  topics: string[];
  /** Where a partition with no committed offset (or an out-of-range one) starts. */
  from: 'earliest' | 'latest';
  eachBatch(context: BatchContext): Promise<void>;
  /** Default 1. */
  partitionsConcurrently?: number;
  /** Resolve the batch's last offset when the handler returns. Default true. */
  autoResolve?: boolean;
}

/** Events of a group consumer; each listener gets plain data. */
export interface GroupConsumerEvents {
  /** Joined (or rejoined) the group: `assignment` is topic → partitions. Synchronous listeners run before any fetch. */
  join: { memberId: string; assignment: Record<string, number[]> };
  /** A rebalance started: the assignment is about to change. */
  rebalancing: Record<string, never>;
  /** A fetch returned (with or without records). */
  fetch: Record<string, never>;
  heartbeat: Record<string, never>;
  /** A batch handler returned. */
  batchEnd: { topic: string; partition: number };
  /** The consumer stopped (on its own after a crash, or asked to). */
  stop: Record<string, never>;
  /** The consume loop failed; `restart`: the client starts it again by itself, else it stays stopped. */
  crash: { error: Error; restart: boolean };
}

export interface GroupConsumer {
  /** Connects, subscribes and starts the consume loop; resolves once it runs. */
  run(options: RunOptions): Promise<void>;
  /** Leaves the group after the running batches returned (they see `isRunning()` turn false). */
  stop(): Promise<void>;
  /**
   * Stops fetching `topic` until `resume`: all of it, or only `partitions`. The two are layers: a
   * partition is fetched when neither the topic nor the partition is paused, so resuming the topic
   * leaves the partitions paused on their own paused (and the other way round). A client restarting
   * a consumer may forget pauses: set them again in the `join` listener (pause the topic first).
   */
  pause(topic: string, partitions?: readonly number[]): void;
  resume(topic: string, partitions?: readonly number[]): void;
  /** The next fetch of the partition starts at `offset`. */
  seek(topic: string, partition: number, offset: Offset): void;
  on<E extends keyof GroupConsumerEvents>(event: E, listener: (payload: GroupConsumerEvents[E]) => void): void;
}

export interface PartitionOffsets {
  partition: number;
  /** Log start: the oldest offset still held. */
  low: Offset;
  /** Log end: the offset the next record gets. */
  high: Offset;
}

export interface CommittedOffset {
  partition: number;
  /** "-1": nothing committed. */
  offset: Offset;
  metadata: string | null;
}

export interface PartitionLag {
  partition: number;
  lag: number;
}

export interface NewTopic {
  name: string;
  partitions: number;
  /** Topic-level configs, e.g. `retention.ms`. Replication: the broker's default. */
  configs?: Record<string, string>;
}

export interface GroupDescription {
  groupId: string;
  /** e.g. Stable, PreparingRebalance, Empty, Dead. */
  state: string;
  members: { memberId: string; clientId: string }[];
}

export interface Admin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics, waiting for their leaders; one that already exists is not an error. */
  createTopics(topics: NewTopic[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  /** Partition numbers per topic. */
  describeTopics(topics: string[]): Promise<{ name: string; partitions: number[] }[]>;
  /** Topic-level configs with their current values (`keys`: only these). */
  topicConfigs(topic: string, keys?: string[]): Promise<Record<string, string>>;
  alterTopicConfigs(topic: string, configs: Record<string, string>): Promise<void>;
  /** Log start and end of every partition. */
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** The first offset at or after `timestampMs` per partition (the end where there is none). */
  offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: Offset }[]>;
  /** A group's committed offsets with their metadata, every partition of `topic`. */
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
  /** Moves a group's committed offsets (the group must have no active member). */
  setCommittedOffsets(groupId: string, topic: string, offsets: { partition: number; offset: Offset }[]): Promise<void>;
  /** Deletes the records below `offset` in each partition (moves the log start up). */
  deleteRecords(topic: string, partitions: { partition: number; offset: Offset }[]): Promise<void>;
  deleteGroups(groupIds: string[]): Promise<void>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** Brokers the cluster metadata lists. */
  brokers(): Promise<number>;
}

export interface KafkaClient {
  producer(options?: ProducerOptions): Producer;
  consumer(options: GroupConsumerOptions): GroupConsumer;
  admin(): Admin;
}

/**
 * Thrown by a batch handler: the failure will not go away by retrying the batch, so the consumer
 * stops (a `crash` with `restart: false`) instead of being restarted by the client.
 */
export class NonRetriableError extends Error {
  override name = 'NonRetriableError';
  readonly retriable = false;
}

/** Whether an error from the client says retrying cannot help (unknown: retriable). */
export function isRetriable(err: unknown): boolean {
  return (err as { retriable?: boolean } | null)?.retriable !== false;
}
