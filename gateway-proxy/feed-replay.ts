import type { EventEnvelope } from '../core/events/envelope.ts';
import type { Admin, BatchContext, GroupConsumer, KafkaClient } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import { ReplayGoneError, type FeedOrigin, type FeedPosition } from './delivery-source.ts';
import { checkReplayRange, type PendingReplay } from './feed-interest.ts';
import { readFeedRecord, recordBytes } from './feed-record.ts';
import type { EdgeMetrics } from './metrics.ts';

export interface FeedReplayOptions {
  kafka: KafkaClient;
  topic: string;
  /** The node's replay group (`guildcast-edge-<node>-replay`): the node alone in it, so it is assigned every partition. */
  groupId: string;
  partitionCount: number;
  metrics: EdgeMetrics;
  logger: Logger;
}

export interface FeedReplay {
  /** DeliverySource.replay. */
  replay(partition: number, from: FeedPosition, to: bigint, onEvent: (event: EventEnvelope, origin: FeedOrigin) => void): Promise<bigint>;
  stop(): Promise<void>;
}


/**
 * Replays of `deliveries` ranges for RESUMEs of sessions this node did not hold. Many of them can
 * run at once (a drained node's sessions all come back within seconds), and a group join costs
 * `group.initial.rebalance.delay.ms` (3 s by default) plus a round of requests, so replays share
 * one consumer per node, created at the first replay and kept: its partitions stay paused except
 * while a replay needs one; it seeks a partition to the lowest start pending there, hands each
 * record to every replay whose range holds it, and pauses the partition once none is left. A
 * replay starting below where its partition is being read seeks it back: the others skip what they
 * already had. Each replay drops redeliveries from its own `passed` on and records that are not
 * envelopes (the live path dead-lettered those already), as the live path did.
 */
export function feedReplay(options: FeedReplayOptions): FeedReplay {
  const { kafka, topic, metrics, partitionCount } = options;
  const logger = options.logger.child({ component: 'feed-replay', topic });
  const pending = new Map<number, Set<PendingReplay>>();
  /** The offset the consumer delivers next per partition it reads for replays. */
  const readAt = new Map<number, bigint>();
  let admin: Promise<Admin> | undefined;
  let consumer: Promise<GroupConsumer> | undefined;
  let current: GroupConsumer | undefined;
  let joined = false;
  let stopped = false;

  const adminClient = () =>
    (admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })().catch((err) => {
      admin = undefined;
      throw err;
    }));

  const settle = (replay: PendingReplay, err?: Error) => {
    const set = pending.get(replay.partition);
    if (!set?.delete(replay)) return;
    if (set.size === 0) idle(replay.partition);
    metrics.replays.inc({ result: !err ? 'done' : err instanceof ReplayGoneError ? 'gone' : 'failed' });
    err ? replay.reject(err) : replay.resolve(replay.passed);
  };

  /** Nobody needs the partition any more: pause it. */
  const idle = (partition: number) => {
    pending.delete(partition);
    readAt.delete(partition);
    try {
      if (joined) current?.pause(topic, [partition]);
    } catch {
      // Not running: the next join pauses it.
    }
  };

  /** Makes the consumer read `partition` from `offset` if it is not already reading from there or below. */
  const readFrom = (partition: number, offset: bigint) => {
    if (!joined || !current) return; // the next join seeks every partition with replays pending
    const at = readAt.get(partition);
    if (at !== undefined && at <= offset) return;
    try {
      current.seek(topic, partition, String(offset));
      current.resume(topic, [partition]);
      readAt.set(partition, offset);
    } catch {
      // Stopped meanwhile: the next join seeks it.
    }
  };

  /** Synchronously in the join event, before any fetch: only partitions with replays pending are read, from their lowest start. */
  const onJoin = (c: GroupConsumer, assigned: number[]) => {
    try {
      c.pause(topic);
      readAt.clear();
      for (const partition of assigned) {
        const set = pending.get(partition);
        if (!set || set.size === 0) {
          c.pause(topic, [partition]);
          continue;
        }
        const lowest = [...set].reduce((low, r) => (r.next < low ? r.next : low), set.values().next().value!.next);
        c.seek(topic, partition, String(lowest));
        c.resume(topic, [partition]);
        readAt.set(partition, lowest);
      }
      c.resume(topic);
      joined = true;
    } catch (err) {
      logger.warn({ err }, 'the replay consumer stopped while joining; the next join seeks again');
    }
  };

  const eachBatch = async ({ batch, isStale }: BatchContext) => {
    const partition = batch.partition;
    let bytes = 0;
    for (const message of batch.records) bytes += recordBytes(message);
    metrics.replayBytes.inc(bytes);
    // Fetched before a seek back: the records from the new position come with the next fetch.
    if (isStale()) return;
    for (const message of batch.records) {
      const set = pending.get(partition);
      const at = readAt.get(partition);
      if (!set || at === undefined) return;
      const offset = BigInt(message.offset);
      if (offset < at) continue;
      if (offset > at) await gap(partition, at, offset);
      for (const replay of [...set]) {
        if (offset < replay.next || replay.next >= replay.to) continue;
        const record = readFeedRecord(message, replay.passed);
        replay.next = offset + 1n;
        if (record.kind === 'event') {
          replay.passed = record.sourceOffset;
          try {
            replay.onEvent(record.event, { partition, offset, sourceOffset: record.sourceOffset });
          } catch (err) {
            settle(replay, err as Error);
            continue;
          }
        } else if (record.kind === 'invalid' && record.sourceOffset !== undefined) {
          replay.passed = record.sourceOffset;
        }
        if (replay.next >= replay.to) settle(replay);
      }
      if (readAt.has(partition)) readAt.set(partition, offset + 1n);
    }
  };

  /**
   * Records `[at, offset)` did not come: either they are gone (kafkajs reset an out-of-range
   * position to the log start) or they were never records to hand on (transaction markers). The
   * log start tells which: replays that needed what is gone fail, the others go on.
   */
  const gap = async (partition: number, at: bigint, offset: bigint) => {
    let low = at;
    try {
      const bounds = (await (await adminClient()).topicOffsets(topic)).find((o) => o.partition === partition);
      if (bounds) low = BigInt(bounds.low);
    } catch (err) {
      logger.warn({ err, partition }, 'cannot read the log start after a gap in a replay: treating the gap as gone');
      low = offset;
    }
    for (const replay of [...(pending.get(partition) ?? [])]) {
      if (replay.next >= offset) continue;
      if (replay.next < low) settle(replay, new ReplayGoneError(`partition ${partition}: offsets from ${replay.next} are gone (log start ${low})`));
      else replay.next = offset;
    }
  };

  const create = async (): Promise<GroupConsumer> => {
    const c = kafka.consumer({ groupId: options.groupId, maxWaitMs: 100 });
    current = c;
    const mine = <T>(listener: (payload: T) => void) => (payload: T) => {
      if (c === current && !stopped) listener(payload);
    };
    c.on('join', mine((payload) => onJoin(c, payload.assignment[topic] ?? [])));
    c.on('rebalancing', mine(() => (joined = false)));
    c.on('stop', mine(() => (joined = false)));
    c.on(
      'crash',
      mine(({ error, restart }) => {
        joined = false;
        if (restart) return logger.warn({ err: error }, 'replay consumer crashed; the client restarts it');
        logger.warn({ err: error }, 'replay consumer crashed for good: failing its replays; the next replay creates another');
        current = undefined;
        consumer = undefined;
        for (const set of [...pending.values()]) for (const replay of [...set]) settle(replay, error);
      }),
    );
    await c.run({ topics: [topic], from: 'earliest', eachBatch });
    return c;
  };

  return {
    async replay(partition, from, to, onEvent) {
      checkReplayRange(partition, from, to, partitionCount);
      if (stopped) throw new Error('the feed stopped');
      const bounds = (await (await adminClient()).topicOffsets(topic)).find((o) => o.partition === partition);
      const low = BigInt(bounds?.low ?? '0');
      if (from.offset < low) {
        metrics.replays.inc({ result: 'gone' });
        throw new ReplayGoneError(`partition ${partition}: offset ${from.offset} is below the log start ${low}`);
      }
      if (from.offset === to) {
        metrics.replays.inc({ result: 'done' });
        return from.passed;
      }
      if (stopped) throw new Error('the feed stopped');
      const done = new Promise<bigint>((resolve, reject) => {
        const replay: PendingReplay = { partition, next: from.offset, passed: from.passed, to, onEvent, resolve, reject };
        const set = pending.get(partition) ?? new Set<PendingReplay>();
        set.add(replay);
        pending.set(partition, set);
      });
      if (!consumer) {
        consumer = create();
        consumer.catch((err: Error) => {
          logger.warn({ err }, 'cannot start the replay consumer');
          consumer = undefined;
          current = undefined;
          for (const set of [...pending.values()]) for (const replay of [...set]) settle(replay, err);
        });
      }
      readFrom(partition, from.offset);
      return done;
    },
    async stop() {
      stopped = true;
      const err = new Error('the feed stopped');
      for (const set of [...pending.values()]) for (const replay of [...set]) settle(replay, err);
      const c = current;
      current = undefined;
      await Promise.allSettled([c?.stop(), admin?.then((a) => a.disconnect())]);
    },
  };
}
