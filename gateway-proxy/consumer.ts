import type { EventEnvelope } from '../core/events/envelope.ts';
import { sendDeadLetters, type DeadLetter } from '../core/kafka/dead-letter.ts';
import { isRetriable, type BatchContext, type ConsumedRecord, type GroupConsumer, type KafkaClient, type PartitionOffsets } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import { backoffDelay, retryWithBackoff } from '../core/retry/backoff.ts';
import { DEFAULT_FEED_LOOKBACK, type DeliveryLoss, type FeedOrigin, type FeedPosition } from './delivery-source.ts';
import { checkFeedPartitions, Interest } from './feed-interest.ts';
import { FeedLookback } from './feed-lookback.ts';
import { readFeedRecord, recordBytes, sourceOffsetOf } from './feed-record.ts';
import type { EdgeMetrics } from './metrics.ts';

const STAGE = 'edge.consume';
/** kafkajs heartbeats every 3 s while it fetches: three missed in a row is a consumer that is not working. */
const DEFAULT_STALL_MS = 10_000;
/** Consumers the edge recreates itself (after kafkajs gave up on one) without a batch in between before the process gives up. */
const MAX_RECREATIONS = 5;

export type { DeliveryLoss } from './delivery-source.ts';

export interface DeliveryConsumerOptions {
  kafka: KafkaClient;
  topic: string;
  deadLetterTopic: string;
  /** Every edge node has its own group, so each is assigned every partition (and fetches the wanted ones). */
  groupId: string;
  metrics: EdgeMetrics;
  logger: Logger;
  onEvent: (event: EventEnvelope, origin: FeedOrigin) => void;
  /** Records this edge had not read are gone from Kafka (retention, deleted records): its sessions must be told. */
  onLoss: (loss: DeliveryLoss) => void;
  /** The consumer cannot be brought back: the process has to stop and be restarted. */
  onFatal: (reason: Error) => void;
  /** No heartbeat or batch for this long while joined counts as not working. */
  stallMs?: number;
  /**
   * Records before a partition's end read (for their source offsets only) when it starts being
   * read: fanout's redeliveries after a crash can straddle that end, and those after it must be
   * known as such. Default DEFAULT_FEED_LOOKBACK.
   */
  lookback?: number;
}

export interface DeliveryConsumer {
  /** Resolves once the consumer joined its group the first time: `want` is served from then on. */
  ready: Promise<void>;
  /** Partitions of `deliveries` (as of start-up). */
  readonly partitionCount: number;
  /** Why the edge is not reading `deliveries` right now (crashed, restarting, rejoining, stalled), or undefined while it is. */
  problem(): string | undefined;
  /** DeliverySource.want: a partition not read yet starts at its end; resolves once its seek is in place. */
  want(partitions: readonly number[]): Promise<Map<number, FeedPosition>>;
  /** DeliverySource.release: the last release pauses the partition and forgets its position. */
  release(partitions: readonly number[]): void;
  /** DeliverySource.positions: the partitions being read, now. */
  positions(partitions: readonly number[]): Map<number, FeedPosition>;
  stop(): Promise<void>;
}

type State = 'starting' | 'verifying' | 'fetching' | 'rebalancing' | 'restarting' | 'stopped';

/**
 * Reads the wanted partitions of `deliveries` from this process's own positions. The node's group
 * has it alone, so it is assigned every partition; it fetches only the ones somebody wants
 * (`want`/`release`, counted per partition) and keeps the others paused, so a node whose sessions
 * hold a quarter of the shards reads about a quarter of the topic. A partition starts being read at
 * its end (sessions wanting it start empty, so older events have nobody to go to), then goes on
 * from the offset after the last record handled. Up to `lookback` records before that end are read
 * first for their source offsets only, so fanout's redeliveries that straddle it are dropped too.
 * Offsets are never committed, because a restarted process has no sessions to catch up; but
 * within a process, every (re)join of the group (kafkajs restarting a crashed consumer, a
 * rebalance, or this module recreating a consumer kafkajs gave up on) seeks the wanted partitions
 * back to those positions and pauses the rest, so a consumer restart never jumps to "latest". A
 * position that fell below the log start (retention passed while Kafka was unreachable) cannot be
 * made whole: `onLoss` tells the sessions, and reading goes on from the log start.
 *
 * Also drops records whose source offset this node already passed on that partition (fanout
 * redeliveries) and dead-letters records that are not valid envelopes.
 *
 * Our own `positions` map, not kafkajs's, decides what is handed on: a batch of a partition not
 * read (fetched before its pause) is dropped, one fetched before a seek is skipped by offset.
 */
export async function startDeliveryConsumer(options: DeliveryConsumerOptions): Promise<DeliveryConsumer> {
  const { kafka, topic, metrics } = options;
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const logger = options.logger.child({ component: 'deliveries', topic });
  const admin = kafka.admin();
  await admin.connect();
  let ends;
  try {
    // Leadership can still be settling right after a topic was created.
    let tries = 0;
    ends = await retryWithBackoff(() => admin.topicOffsets(topic), { minMs: 250, maxMs: 250, retryable: (err) => ++tries < 20 && isRetriable(err) });
  } catch (err) {
    await admin.disconnect();
    throw err;
  }
  const partitionCount = ends.length;
  const interest = new Interest(partitionCount);
  /** Next offset to handle per partition being read: the edge's own, in memory only. A wanted partition whose start is pending has none yet. */
  const positions = new Map<number, bigint>();
  /** Source offsets passed per partition being read, for dropping fanout's redeliveries. */
  const passed = new Map<number, bigint>();
  /** Partitions started below their end: records before it only raise `passed`, and are nobody's loss. */
  const lookingBack = new FeedLookback();
  const lookback = BigInt(options.lookback ?? DEFAULT_FEED_LOOKBACK);
  /** Bumped when a partition starts being wanted and when it is released: a start that a release overtook does nothing. */
  const epochs = new Map<number, number>();
  /** Starts in flight (reading the partition's end), which a second `want` of the same partition waits for too. */
  const starting = new Map<number, Promise<void>>();
  /** `want`s waiting for the current consumer to be joined and its positions restored. */
  let appliedWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** Dead letters of records already passed whose send failed: retried with the next batch, not lost with the retry. */
  let unsentLetters: DeadLetter[] = [];
  const producer = kafka.producer();
  await producer.connect();
  const stopSignal = new AbortController();

  let state: State = 'starting';
  let lastProgress = Date.now();
  let current: GroupConsumer | undefined;
  /** Increments on every join, so a verification that a newer join overtook does nothing. */
  let generation = 0;
  let recreationsWithoutProgress = 0;
  let stopping = false;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const progress = () => {
    lastProgress = Date.now();
  };
  const counted = () => metrics.feedPartitions.set(positions.size);

  const loss = (partition: number, records: bigint, why: string) => {
    metrics.deliveriesLost.inc(Number(records));
    logger.error({ partition, records: String(records), why }, 'deliveries lost before this edge read them: invalidating the sessions that needed them');
    options.onLoss({ partition, partitions: partitionCount, records });
  };

  const settleWaiters = (err?: Error) => {
    const waiters = appliedWaiters;
    appliedWaiters = [];
    for (const waiter of waiters) err ? waiter.reject(err) : waiter.resolve();
  };
  /** Resolves once the current consumer is joined with the positions restored (at once if it is). */
  const whenApplied = () =>
    stopping || state === 'stopped' ? Promise.reject(new Error('the deliveries consumer stopped')) : state === 'fetching' ? Promise.resolve() : new Promise<void>((resolve, reject) => appliedWaiters.push({ resolve, reject }));

  /**
   * One record: dropped as a redelivery, dead-lettered, or handed to `onEvent`. The position moves
   * before `onEvent` (so `positions()` called from inside it counts the event as handled) and back
   * if it throws: the record is read again, not skipped. Throws only what `onEvent` throws.
   */
  const handle = (partition: number, message: ConsumedRecord, letters: DeadLetter[]) => {
    const offset = BigInt(message.offset);
    const end = lookingBack.endOf(partition);
    if (end !== undefined) {
      if (offset < end) {
        const sourceOffset = sourceOffsetOf(message);
        if (sourceOffset !== undefined && sourceOffset > (passed.get(partition) ?? -1n)) passed.set(partition, sourceOffset);
        positions.set(partition, offset + 1n);
        lookingBack.reached(partition, offset + 1n);
        return;
      }
      lookingBack.finish(partition);
    }
    metrics.recordsConsumed.inc();
    const before = passed.get(partition) ?? -1n;
    const record = readFeedRecord(message, before);
    positions.set(partition, offset + 1n);
    if (record.kind === 'redelivery') return void metrics.redeliveriesDropped.inc();
    if (record.kind === 'invalid') {
      metrics.recordsInvalid.inc();
      logger.warn({ partition, offset: message.offset, reason: record.reason }, 'invalid delivery record: dead-lettered');
      letters.push(deadLetter(message, record.reason, { topic, partition, offset: message.offset }));
      if (record.sourceOffset !== undefined) passed.set(partition, record.sourceOffset);
      return;
    }
    passed.set(partition, record.sourceOffset);
    try {
      options.onEvent(record.event, { partition, offset, sourceOffset: record.sourceOffset });
    } catch (err) {
      // Unless the handler released the partition meanwhile: then there is nothing to read again.
      if (positions.get(partition) === offset + 1n) {
        positions.set(partition, offset);
        passed.set(partition, before);
      }
      throw err;
    }
  };

  const eachBatch = async ({ batch }: BatchContext) => {
    const partition = batch.partition;
    let bytes = 0;
    for (const message of batch.records) bytes += recordBytes(message);
    metrics.feedBytes.inc(bytes);
    const letters = unsentLetters;
    unsentLetters = [];
    for (const message of batch.records) {
      const offset = BigInt(message.offset);
      const expected = positions.get(partition);
      // Not read (released, not wanted, or its start pending): a batch fetched before the pause.
      if (expected === undefined) break;
      // Fetched for an older position (a fetch in flight across a rejoin or seek): already handled.
      if (offset < expected) continue;
      if (offset > expected) {
        // kafkajs resets a position that is out of range to the log start on its own; whatever lay between is gone.
        const lost = offset - maxOf(expected, lookingBack.endOf(partition) ?? expected);
        if (lost > 0n) loss(partition, lost, 'offset reset by the client');
        positions.set(partition, offset);
      }
      try {
        handle(partition, message, letters);
      } catch (err) {
        // The record is read again after the retry or restart; the dead letters before it must not be lost meanwhile.
        unsentLetters = letters;
        throw err;
      }
    }
    try {
      await sendDeadLetters(producer, options.deadLetterTopic, letters);
    } catch (err) {
      unsentLetters = letters;
      throw err;
    }
    recreationsWithoutProgress = 0;
  };

  /** Points the current consumer at a partition's position and fetches it; false when the consumer cannot take it now (the next join does). */
  const fetchFrom = (partition: number, position: bigint): boolean => {
    if (state !== 'fetching' || !current) return false;
    try {
      current.seek(topic, partition, String(position));
      current.resume(topic, [partition]);
      return true;
    } catch {
      return false;
    }
  };

  /** Starts reading `fresh` (wanted by nobody before) at their ends now. */
  const startAt = async (fresh: number[], epochOf: Map<number, number>) => {
    const offsets = await retryWithBackoff(() => admin.topicOffsets(topic), {
      minMs: 250,
      maxMs: 5_000,
      signal: stopSignal.signal,
      onRetry: (err, attempt) => logger.warn({ err, attempt }, 'cannot read the partitions\' ends to start reading; retrying'),
    });
    let waiting = false;
    for (const partition of fresh) {
      if (epochs.get(partition) !== epochOf.get(partition)) continue; // released meanwhile
      const bounds = offsets.find((o) => o.partition === partition);
      const end = BigInt(bounds?.high ?? '0');
      const from = maxOf(BigInt(bounds?.low ?? '0'), end - lookback);
      positions.set(partition, from);
      passed.set(partition, -1n);
      if (from < end) lookingBack.begin(partition, end);
      if (!fetchFrom(partition, from)) waiting = true;
    }
    counted();
    if (waiting) await whenApplied();
    await lookingBack.done(fresh);
  };

  const want = async (partitions: readonly number[]): Promise<Map<number, FeedPosition>> => {
    if (stopping) throw new Error('the deliveries consumer stopped');
    const fresh = interest.want(partitions);
    if (fresh.length > 0) {
      const epochOf = new Map(fresh.map((p) => [p, (epochs.get(p) ?? 0) + 1]));
      for (const [p, epoch] of epochOf) epochs.set(p, epoch);
      const started = startAt(fresh, epochOf);
      for (const p of fresh) starting.set(p, started);
      void started.then(
        () => fresh.forEach((p) => starting.get(p) === started && starting.delete(p)),
        () => fresh.forEach((p) => starting.get(p) === started && starting.delete(p)),
      );
    }
    await Promise.all(new Set(partitions.map((p) => starting.get(p)).filter((s) => s !== undefined)));
    return positionsOf(partitions);
  };

  const release = (partitions: readonly number[]) => {
    for (const partition of interest.release(partitions)) {
      epochs.set(partition, (epochs.get(partition) ?? 0) + 1);
      positions.delete(partition);
      passed.delete(partition);
      lookingBack.finish(partition);
      try {
        current?.pause(topic, [partition]);
      } catch {
        // Not running right now: the next join pauses every partition that is not read.
      }
    }
    counted();
  };

  const positionsOf = (partitions: readonly number[]) => {
    checkFeedPartitions(partitions, partitionCount);
    const out = new Map<number, FeedPosition>();
    for (const partition of partitions) {
      const offset = positions.get(partition);
      // During the lookback the live position is its end: nothing before it goes to anybody.
      if (offset !== undefined) out.set(partition, { offset: maxOf(offset, lookingBack.endOf(partition) ?? offset), passed: passed.get(partition) ?? -1n });
    }
    return out;
  };

  /**
   * After a join: hold fetching, compare the positions with the partitions' log start, seek the
   * partitions being read to them, keep the others paused, and fetch again. Paused first,
   * synchronously in the join event, so no fetch runs from wherever kafkajs would start on its own.
   */
  const verify = async (consumer: GroupConsumer, assigned: number[]) => {
    const joined = ++generation;
    state = 'verifying';
    try {
      consumer.pause(topic);
    } catch {
      return; // already stopped again: the next join verifies
    }
    let offsets: PartitionOffsets[] | undefined;
    for (let attempt = 0; offsets === undefined; attempt++) {
      try {
        offsets = await admin.topicOffsets(topic);
      } catch (err) {
        if (stopping || joined !== generation) return;
        logger.warn({ err, attempt }, 'cannot read the partitions\' offsets after joining; retrying');
        await sleep(backoffDelay(attempt + 1, { minMs: 250, maxMs: 5_000 }));
      }
    }
    if (stopping || joined !== generation || consumer !== current) return;
    try {
      for (const partition of assigned) {
        const bounds = offsets.find((o) => o.partition === partition);
        let position = positions.get(partition);
        // Not read (or its start is pending: that start seeks it itself once this join is done).
        if (!bounds || position === undefined) {
          consumer.pause(topic, [partition]);
          continue;
        }
        const low = BigInt(bounds.low);
        const high = BigInt(bounds.high);
        if (position < low) {
          const lost = low - maxOf(position, lookingBack.endOf(partition) ?? position);
          if (lost > 0n) loss(partition, lost, 'below the log start (retention or deleted records)');
          position = low;
        } else if (position > high) {
          logger.warn({ partition, position: String(position), high: String(high) }, 'partition is shorter than this edge\'s position (truncated or recreated): reading from its end');
          position = high;
        }
        // What the lookback was to read is gone: whatever comes next is live.
        if (high < (lookingBack.endOf(partition) ?? high)) lookingBack.finish(partition);
        positions.set(partition, position);
        consumer.seek(topic, partition, String(position));
        consumer.resume(topic, [partition]);
      }
      consumer.resume(topic);
    } catch (err) {
      logger.warn({ err }, 'the consumer stopped while its positions were being restored; the next join restores them');
      return;
    }
    state = 'fetching';
    progress();
    onReady();
    settleWaiters();
  };

  const create = async (): Promise<GroupConsumer> => {
    const consumer = kafka.consumer({ groupId: options.groupId, maxWaitMs: 100 });
    current = consumer;
    const mine = <T>(listener: (payload: T) => void) => (payload: T) => {
      if (consumer === current && !stopping) listener(payload);
    };
    consumer.on('join', mine((payload) => void verify(consumer, payload.assignment[topic] ?? [])));
    consumer.on('heartbeat', mine(progress));
    consumer.on('batchEnd', mine(progress));
    consumer.on('rebalancing', mine(() => (state = 'rebalancing')));
    consumer.on('stop', mine(() => (state = 'restarting')));
    consumer.on(
      'crash',
      mine(({ error, restart }) => {
        state = 'restarting';
        metrics.consumerRestarts.inc({ by: restart ? 'client' : 'edge' });
        logger.warn({ err: error, restart }, restart ? 'deliveries consumer crashed; the client restarts it' : 'deliveries consumer crashed for good; recreating it');
        if (!restart) void recreate(error);
      }),
    );
    // 'earliest' is only the default for offsets the client resets on its own (out of range): the log start loses the least.
    await consumer.run({ topics: [topic], from: 'earliest', eachBatch });
    return consumer;
  };

  const recreate = async (cause: Error) => {
    for (let attempt = 1; !stopping; attempt++) {
      if (++recreationsWithoutProgress > MAX_RECREATIONS) {
        state = 'stopped';
        const fatal = new Error(`the deliveries consumer failed ${MAX_RECREATIONS} times in a row without reading anything: ${cause.message}`);
        settleWaiters(fatal);
        options.onFatal(fatal);
        return;
      }
      // Backs off across crashes too: a consumer that crashes right after each recreation is retried ever more slowly.
      await sleep(backoffDelay(recreationsWithoutProgress, { minMs: 500, maxMs: 15_000 }));
      if (stopping) return;
      try {
        await create();
        return;
      } catch (err) {
        cause = err as Error;
        logger.warn({ err, attempt }, 'could not recreate the deliveries consumer; retrying');
      }
    }
  };

  try {
    await create();
  } catch (err) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    throw err;
  }

  return {
    ready,
    partitionCount,
    want,
    release,
    positions: positionsOf,
    problem() {
      switch (state) {
        case 'starting':
          return 'not yet reading the deliveries topic';
        case 'verifying':
          return 'restoring its positions after joining';
        case 'rebalancing':
          return 'rejoining its consumer group';
        case 'restarting':
          return 'the deliveries consumer crashed and is restarting';
        case 'stopped':
          return 'the deliveries consumer stopped';
        case 'fetching': {
          const idle = Date.now() - lastProgress;
          return idle > stallMs ? `no heartbeat or batch from the deliveries consumer for ${idle} ms` : undefined;
        }
      }
    },
    async stop() {
      stopping = true;
      state = 'stopped';
      stopSignal.abort(new Error('the deliveries consumer stopped'));
      settleWaiters(new Error('the deliveries consumer stopped'));
      lookingBack.finishAll();
      await current?.stop();
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);

function deadLetter(message: ConsumedRecord, reason: string, source: DeadLetter['source']): DeadLetter {
  return { stage: STAGE, reason, key: message.key, value: message.value, source, headers: message.headers };
}
