import { EventEmitter } from 'node:events';
import {
  ConnectionPool,
  Consumer,
  findErrorBy,
  ListOffsetTimestamps,
  type ClusterMetadata,
  type fetchV17,
  type GroupAssignment,
} from '@platformatic/kafka';
import type { Logger } from '../../logger.ts';
import {
  isRetriable,
  NonRetriableError,
  type BatchContext,
  type CommitOffset,
  type GroupConsumer,
  type GroupConsumerEvents,
  type GroupConsumerOptions,
  type Offset,
  type RunOptions,
} from '../types.ts';
import { libraryOptions, type BaseClientOptions } from './client.ts';
import { commitWithMetadata } from './commit.ts';
import { classified } from './errors.ts';
import { partitionRecords } from './records.ts';

type FetchRequestTopic = fetchV17.FetchRequestTopic;
type FetchResponse = fetchV17.FetchResponse;
// Kafka's error code for a fetch position outside the log.
const OFFSET_OUT_OF_RANGE = 1;

const key = (topic: string, partition: number) => `${topic}\0${partition}`;
/** After a crash the client starts the consumer again (as kafkajs does) after this pause. */
const RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 5000;

interface Task {
  generation: number;
  topic: string;
  partition: number;
  records: BatchContext['batch']['records'];
  highWatermark: Offset;
}

/**
 * The seam's group consumer on @platformatic/kafka's Consumer: the library keeps the membership
 * (JoinGroup/SyncGroup, its own heartbeat timer, eager round-robin assignment), and the consume
 * loop is ours, on its `fetch`: one fetch in flight per broker, on a connection pool of its own
 * (a fetch waiting `maxWaitMs` on the broker would hold the group's heartbeats and commits behind
 * it), each partition's records handed to `eachBatch` as one batch, and a partition with a batch
 * in hand left out of the next fetches until the handler returned, so its offsets follow what the
 * handler resolved and no partition waits for another's (kafkajs waits for every batch of a fetch).
 * A fetch that leaves partitions out waits on the broker no longer than `LEFT_OUT_WAIT_MS`
 * (`fetchWaitMs`): a partition whose handler returns meanwhile can only be fetched once that fetch
 * is answered, and new records on the others would not answer it early.
 *
 * Rebalances: the library rejoins on its own (on a heartbeat's REBALANCE_IN_PROGRESS). Its
 * `protocolsMetadata` hook runs before each JoinGroup; ours stops fetching, marks every batch in
 * hand stale (eager assignment revokes every partition) and waits (up to the rebalance timeout) for
 * the handlers to return, so a partition is not handed to a new owner while the old one still
 * works on it, the order kafkajs keeps by rejoining only between fetches.
 */
/** How long a fetch that leaves busy partitions out may wait on the broker for records. */
export const LEFT_OUT_WAIT_MS = 2;

/**
 * The broker-side wait of one fetch: the configured long poll when every partition is in it, else
 * at most `LEFT_OUT_WAIT_MS`. With the long poll (fanout's 100 ms), a partition that finished its
 * batch waited for it at low rates: fanout's hop p99 in e2e at 30 msg/s was 43-81 ms against
 * 10-16 ms with 10 ms. With 2 ms instead of 10, sharded e2e at 150 msg/s (A B B A) had a fanout
 * hop p99 of 11 and 9 ms against 16 and 19, for 603 fetches and commits a second against 470
 * (bench/README.md, #14's ninth session).
 */
export function fetchWaitMs(maxWaitMs: number, partitionsLeftOut: number): number {
  return partitionsLeftOut > 0 ? Math.min(maxWaitMs, LEFT_OUT_WAIT_MS) : maxWaitMs;
}

export class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly events = new EventEmitter();
  private readonly topicsPaused = new Set<string>();
  private readonly partitionsPaused = new Map<string, Set<number>>();
  private session: Session | undefined;
  private runOptions: RunOptions | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly base: BaseClientOptions,
    private readonly options: GroupConsumerOptions,
    private readonly logger: Logger,
  ) {
    // A listener that throws must not take the consume loop down; 'error' is never emitted here.
    this.events.setMaxListeners(0);
  }

  async run(options: RunOptions): Promise<void> {
    this.runOptions = options;
    this.stopping = false;
    await this.start();
  }

  private async start(): Promise<void> {
    const session = new Session(this.base, this.options, this.runOptions!, this.logger, {
      emit: (event, payload) => this.emit(event, payload),
      isPaused: (topic, partition) => this.topicsPaused.has(topic) || (this.partitionsPaused.get(topic)?.has(partition) ?? false),
      crash: (error) => void this.crash(session, error),
    });
    this.session = session;
    try {
      await session.start();
    } catch (err) {
      await session.close().catch(() => {});
      if (this.session === session) this.session = undefined;
      throw err;
    }
  }

  private async crash(session: Session, error: Error): Promise<void> {
    if (this.session !== session || this.stopping) return;
    const restart = !(error instanceof NonRetriableError) && isRetriable(classified(error));
    this.session = undefined;
    await session.close().catch((err) => this.logger.warn({ err }, 'closing the crashed consumer failed'));
    // As kafkajs: the consumer stops on every crash, then says whether it starts again.
    this.emit('stop', {});
    this.emit('crash', { error, restart });
    if (!restart || this.stopping) return;
    this.scheduleRestart(1);
  }

  /** Starts the consumer again, and again after each failed start (a broker still down), until it runs or is stopped. */
  private scheduleRestart(attempt: number): void {
    const delay = Math.min(RESTART_DELAY_MS * 2 ** (attempt - 1), MAX_RESTART_DELAY_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.start().catch((err: Error) => {
        if (this.stopping) return;
        this.logger.warn({ err: err.message, attempt }, 'restarting the consumer failed; trying again');
        this.emit('crash', { error: err, restart: true });
        this.scheduleRestart(attempt + 1);
      });
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    await session.close();
    this.emit('stop', {});
  }

  pause(topic: string, partitions?: readonly number[]): void {
    if (!partitions) this.topicsPaused.add(topic);
    else {
      const paused = this.partitionsPaused.get(topic) ?? new Set<number>();
      for (const partition of partitions) paused.add(partition);
      this.partitionsPaused.set(topic, paused);
    }
  }

  resume(topic: string, partitions?: readonly number[]): void {
    if (!partitions) this.topicsPaused.delete(topic);
    else for (const partition of partitions) this.partitionsPaused.get(topic)?.delete(partition);
    this.session?.wake();
  }

  seek(topic: string, partition: number, offset: Offset): void {
    this.session?.seek(topic, partition, BigInt(offset));
  }

  on<E extends keyof GroupConsumerEvents>(event: E, listener: (payload: GroupConsumerEvents[E]) => void): void {
    this.events.on(event, listener);
  }

  private emit<E extends keyof GroupConsumerEvents>(event: E, payload: GroupConsumerEvents[E]): void {
    for (const listener of this.events.listeners(event)) {
      try {
        (listener as (p: GroupConsumerEvents[E]) => void)(payload);
      } catch (err) {
        this.logger.error({ err, event }, 'a consumer event listener threw');
      }
    }
  }
}

interface SessionHooks {
  emit<E extends keyof GroupConsumerEvents>(event: E, payload: GroupConsumerEvents[E]): void;
  isPaused(topic: string, partition: number): boolean;
  crash(error: Error): void;
}

/** One incarnation of the consumer: a library Consumer (one membership) and its consume loop. */
class Session {
  private readonly consumer: Consumer;
  private readonly fetchPool: ConnectionPool;
  private running = false;
  /** Our count of joins; a batch from an earlier one is stale. */
  private generation = 0;
  private rebalancing = false;
  /** Positions of the current generation are known (committed offsets read). */
  private ready = false;
  private assignment: GroupAssignment[] = [];
  private readonly positions = new Map<string, bigint>();
  private readonly pendingSeeks = new Map<string, bigint>();
  /** Partitions with a batch queued or in a handler: not fetched until it returned. */
  private readonly busy = new Set<string>();
  private readonly inflightNodes = new Set<number>();
  private readonly queue: Task[] = [];
  private active = 0;
  private readonly idle = new Set<() => void>();
  private woken = false;

  constructor(
    base: BaseClientOptions,
    private readonly options: GroupConsumerOptions,
    private readonly run: RunOptions,
    private readonly logger: Logger,
    private readonly hooks: SessionHooks,
  ) {
    this.consumer = new Consumer({
      ...libraryOptions(base),
      groupId: options.groupId,
      // Offsets move only through `commit`, with metadata; the library's autocommit sends none.
      autocommit: false,
      ...(options.sessionTimeoutMs !== undefined ? { sessionTimeout: options.sessionTimeoutMs } : { sessionTimeout: 30_000 }),
      ...(options.rebalanceTimeoutMs !== undefined ? { rebalanceTimeout: options.rebalanceTimeoutMs } : { rebalanceTimeout: 60_000 }),
      ...(options.heartbeatIntervalMs !== undefined ? { heartbeatInterval: options.heartbeatIntervalMs } : {}),
      maxWaitTime: options.maxWaitMs ?? 5000,
      protocolsMetadata: () => this.beforeJoin(),
    });
    this.fetchPool = new ConnectionPool(base.clientId, { connectTimeout: base.connectTimeout });
    base.watch(this.consumer, 'client:broker:connect');
    base.watch(this.fetchPool, 'connect');
    this.consumer.on('consumer:group:join', (payload) => this.onJoin(payload.memberId, payload.assignments ?? []));
    this.consumer.on('consumer:group:rebalance', () => this.onRebalance());
    this.consumer.on('consumer:heartbeat:end', () => this.hooks.emit('heartbeat', {}));
    // The library reports a failed background rejoin as 'error'; unhandled, it would throw.
    this.consumer.on('error' as never, (error: Error) => this.hooks.crash(error));
  }

  async start(): Promise<void> {
    this.running = true;
    for (const topic of this.run.topics) this.consumer.topics.track(topic);
    await this.consumer.joinGroup({});
  }

  /** Stops fetching, waits for the handlers in hand (they see isRunning() false), leaves the group. */
  async close(): Promise<void> {
    this.running = false;
    this.queue.length = 0;
    await this.whenIdle();
    await this.consumer.close(true);
    await new Promise<void>((resolve) => this.fetchPool.close(() => resolve()));
  }

  seek(topic: string, partition: number, offset: bigint): void {
    this.pendingSeeks.set(key(topic, partition), offset);
    this.wake();
  }

  wake(): void {
    if (this.woken) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      this.pump();
    });
  }

  private onRebalance(): void {
    if (this.rebalancing || this.generation === 0) return;
    this.rebalancing = true;
    this.queue.length = 0;
    this.hooks.emit('rebalancing', {});
  }

  private async beforeJoin(): Promise<Buffer> {
    this.onRebalance();
    this.rebalancing = this.generation > 0;
    const limit = (this.options.rebalanceTimeoutMs ?? 60_000) - 5000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.whenIdle(), new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, limit))))]);
    clearTimeout(timer);
    return Buffer.alloc(0);
  }

  private onJoin(memberId: string, assignments: GroupAssignment[]): void {
    if (!this.running) return;
    this.generation++;
    this.rebalancing = false;
    this.ready = false;
    this.assignment = assignments;
    this.positions.clear();
    this.busy.clear();
    this.queue.length = 0;
    const generation = this.generation;
    // Synchronously, before any fetch: a listener may pause or seek here.
    this.hooks.emit('join', { memberId, assignment: Object.fromEntries(assignments.map((a) => [a.topic, [...a.partitions].sort((x, y) => x - y)])) });
    this.initPositions(generation).then(
      () => {
        if (generation !== this.generation) return;
        this.ready = true;
        this.wake();
      },
      (err: Error) => {
        if (generation === this.generation) this.hooks.crash(err);
      },
    );
  }

  /** Committed offsets, or the log start/end (`from`) where the group has none. */
  private async initPositions(generation: number): Promise<void> {
    const topics = this.assignment.filter((a) => a.partitions.length > 0);
    if (topics.length === 0) return;
    const committed = await this.consumer.listCommittedOffsets({ topics });
    const missing: Record<string, number[]> = {};
    for (const { topic, partitions } of topics) {
      const offsets = committed.get(topic) ?? [];
      for (const partition of partitions) {
        const offset = offsets[partition];
        if (offset !== undefined && offset >= 0n) this.positions.set(key(topic, partition), offset);
        else (missing[topic] ??= []).push(partition);
      }
    }
    if (Object.keys(missing).length === 0) return;
    const listed = await this.consumer.listOffsets({
      topics: Object.keys(missing),
      partitions: missing,
      timestamp: this.run.from === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    });
    if (generation !== this.generation) return;
    for (const [topic, partitions] of Object.entries(missing)) for (const p of partitions) this.positions.set(key(topic, p), listed.get(topic)![p]!);
  }

  private pump(): void {
    if (!this.running || !this.ready || this.rebalancing) return;
    this.dispatch();
    const metadata = this.consumer.currentMetadata;
    if (!metadata) {
      this.consumer.metadata({ topics: this.consumer.topics.current }).then(() => this.wake(), (err: Error) => this.hooks.crash(err));
      return;
    }
    const byNode = new Map<number, { topics: FetchRequestTopic[]; requested: Map<string, bigint> }>();
    /** Per broker: its partitions with a batch in hand, which wait on its fetch in flight. */
    const leftOut = new Map<number, number>();
    for (const { topic, partitions } of this.assignment) {
      const topicMetadata = metadata.topics.get(topic);
      if (!topicMetadata) {
        this.consumer.metadata({ topics: this.consumer.topics.current, forceUpdate: true }).then(() => this.wake(), (err: Error) => this.hooks.crash(err));
        return;
      }
      for (const partition of partitions) {
        const k = key(topic, partition);
        const node = topicMetadata.partitions[partition]!.leader;
        if (this.busy.has(k)) {
          leftOut.set(node, (leftOut.get(node) ?? 0) + 1);
          continue;
        }
        if (this.hooks.isPaused(topic, partition)) continue;
        if (this.inflightNodes.has(node)) continue;
        const seek = this.pendingSeeks.get(k);
        if (seek !== undefined) {
          this.positions.set(k, seek);
          this.pendingSeeks.delete(k);
        }
        const fetchOffset = this.positions.get(k);
        if (fetchOffset === undefined) continue;
        let request = byNode.get(node);
        if (!request) byNode.set(node, (request = { topics: [], requested: new Map() }));
        let t = request.topics.find((x) => x.topicId === topicMetadata.id);
        if (!t) request.topics.push((t = { topicId: topicMetadata.id, partitions: [] }));
        t.partitions.push({
          partition,
          fetchOffset,
          partitionMaxBytes: this.options.maxBytesPerPartition ?? 1_048_576,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        });
        request.requested.set(k, fetchOffset);
      }
    }
    for (const [node, request] of byNode) this.fetch(node, request.topics, request.requested, metadata, fetchWaitMs(this.options.maxWaitMs ?? 5000, leftOut.get(node) ?? 0));
  }

  private fetch(node: number, topics: FetchRequestTopic[], requested: Map<string, bigint>, metadata: ClusterMetadata, maxWaitTime: number): void {
    const generation = this.generation;
    this.inflightNodes.add(node);
    this.consumer
      .fetch({ node, topics, connectionPool: this.fetchPool, maxWaitTime, minBytes: 1, maxBytes: 50 * 1_048_576 })
      .then(
        (response) => this.onFetched(generation, response, requested, metadata),
        (error: Error) => this.onFetchError(generation, error, metadata),
      )
      .finally(() => {
        this.inflightNodes.delete(node);
        if (!this.running) return;
        this.hooks.emit('fetch', {});
        this.wake();
      });
  }

  private onFetched(generation: number, response: FetchResponse, requested: Map<string, bigint>, metadata: ClusterMetadata): void {
    if (!this.running || generation !== this.generation || this.rebalancing) return;
    const names = new Map([...metadata.topics].map(([name, t]) => [t.id, name]));
    for (const topicResponse of response.responses) {
      const topic = names.get(topicResponse.topicId) ?? topicResponse.topicId;
      for (const p of topicResponse.partitions) {
        const k = key(topic, p.partitionIndex);
        const from = requested.get(k);
        // Sought meanwhile, or not what this fetch asked: the next fetch reads from the new position.
        if (from === undefined || this.pendingSeeks.has(k) || this.positions.get(k) !== from) continue;
        // Paused while the fetch waited on the broker: dropped unread, fetched again once resumed.
        if (this.hooks.isPaused(topic, p.partitionIndex)) continue;
        const { records, next } = partitionRecords(p, from);
        if (records.length === 0) {
          // Only transaction markers (or records before `from`): step over them.
          if (next !== undefined && next > from) this.positions.set(k, next);
          continue;
        }
        this.busy.add(k);
        this.queue.push({ generation, topic, partition: p.partitionIndex, records, highWatermark: p.highWatermark.toString() });
      }
    }
    this.dispatch();
  }

  private onFetchError(generation: number, error: Error, metadata: ClusterMetadata): void {
    if (!this.running || generation !== this.generation) return;
    const outOfRange = findErrorBy(error, 'apiId', 'OFFSET_OUT_OF_RANGE');
    const response = (error as { response?: FetchResponse }).response;
    if (outOfRange && response) {
      // Past the log (retention deleted it, or a committed offset beyond the end): restart at `from`.
      const names = new Map([...metadata.topics].map(([name, t]) => [t.id, name]));
      for (const t of response.responses)
        for (const p of t.partitions)
          if (p.errorCode === OFFSET_OUT_OF_RANGE)
            this.positions.set(key(names.get(t.topicId) ?? t.topicId, p.partitionIndex), this.run.from === 'earliest' ? p.logStartOffset : p.highWatermark);
      this.logger.warn({ err: error.message }, 'fetch offset out of range; restarting those partitions at the configured end');
      return;
    }
    // The library already retried it: the consumer crashes and is started again (as kafkajs does).
    this.hooks.crash(error);
  }

  private dispatch(): void {
    const limit = Math.max(1, this.run.partitionsConcurrently ?? 1);
    while (this.active < limit && this.queue.length > 0 && this.running && !this.rebalancing) {
      const task = this.queue.shift()!;
      if (task.generation !== this.generation) continue;
      this.active++;
      void this.handle(task).finally(() => {
        this.active--;
        if (this.active === 0) for (const resolve of [...this.idle]) resolve();
        this.wake();
      });
    }
  }

  private async handle(task: Task): Promise<void> {
    const { topic, partition, records, generation } = task;
    const k = key(topic, partition);
    const groupGeneration = this.consumer.generationId;
    const memberId = this.consumer.memberId ?? '';
    let resolved: bigint | undefined;
    const stale = () => generation !== this.generation || this.rebalancing || this.pendingSeeks.has(k);
    const context: BatchContext = {
      batch: { topic, partition, records, highWatermark: task.highWatermark },
      resolveOffset: (offset) => {
        const o = BigInt(offset);
        if (resolved === undefined || o > resolved) resolved = o;
      },
      // The library heartbeats on its own timer, whatever the handler does; this only says whether
      // the membership still holds, as kafkajs' heartbeat throws once a rebalance began.
      heartbeat: async () => {
        if (generation !== this.generation || this.rebalancing) throw rebalanceError();
      },
      commit: async (offsets: CommitOffset[]) => {
        if (generation !== this.generation) throw rebalanceError();
        await commitWithMetadata(this.consumer, groupGeneration, memberId, offsets);
      },
      isRunning: () => this.running,
      isStale: stale,
    };
    try {
      await this.run.eachBatch(context);
      if (this.run.autoResolve !== false) resolved = BigInt(records[records.length - 1]!.offset);
    } catch (err) {
      if (isRebalance(err) || !this.running) {
        // Left for the partition's next owner (or this member after the rejoin), from the committed offset.
        this.logger.info({ topic, partition, err: (err as Error).message }, 'batch left during a rebalance or shutdown');
      } else {
        this.hooks.crash(err as Error);
        return;
      }
    }
    if (generation === this.generation) {
      this.busy.delete(k);
      const position = this.positions.get(k);
      if (resolved !== undefined && !this.pendingSeeks.has(k) && (position === undefined || resolved + 1n > position)) this.positions.set(k, resolved + 1n);
    }
    this.hooks.emit('batchEnd', { topic, partition });
  }

  private whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}

function rebalanceError(): Error {
  return Object.assign(new Error('the group is rebalancing: this batch is no longer ours'), { rebalance: true });
}

function isRebalance(err: unknown): boolean {
  if ((err as { rebalance?: boolean } | null)?.rebalance) return true;
  return Boolean(findErrorBy(err as Error, 'needsRejoin', true));
}
