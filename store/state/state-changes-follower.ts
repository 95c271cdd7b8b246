import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, type Registry } from 'prom-client';
import { parseStateChange, StateChangeError, type StateChange } from '../../core/events/state-change.ts';
import { sendDeadLetters, type DeadLetter } from '../../core/kafka/dead-letter.ts';
import type { ConsumedRecord, GroupConsumer, KafkaClient } from '../../core/kafka/types.ts';
import type { Logger } from '../../core/logger.ts';
import { backoffDelay, retryWithBackoff } from '../../core/retry/backoff.ts';
import type { InvalidatedCache } from './invalidated-cache.ts';

const STAGE = 'state.follow';

/** What a cache of guild state or settings listens to. */
export interface StateChangeListener {
  change(change: StateChange): void;
  /** Records may have been missed (the follower joined or rejoined at the topic's end): drop everything. */
  gap(): void;
}

/** Where invalidations come from: the `state-changes` topic in a role, memory in unit tests. */
export interface StateChangeSource {
  /** Returns the unsubscribe. */
  subscribe(listener: StateChangeListener): () => void;
}

/** An in-memory source for unit tests and single-process setups: `publish` reaches every listener at once. */
export function memoryStateChanges(): StateChangeSource & { publish(change: StateChange): void; gap(): void } {
  const listeners = new Set<StateChangeListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    publish: (change) => listeners.forEach((l) => l.change(change)),
    gap: () => listeners.forEach((l) => l.gap()),
  };
}

/** Which cache entries a record names: caches keyed by guild id, and caches keyed by channel id. */
export function invalidateOn(source: StateChangeSource, caches: { guilds?: InvalidatedCache<unknown>[]; channels?: InvalidatedCache<unknown>[] }): () => void {
  const guilds = caches.guilds ?? [];
  const channels = caches.channels ?? [];
  return source.subscribe({
    // Both kinds drop the guild's entries in every guild-keyed cache: a spare re-read is cheap, a stale entry is not.
    change(change) {
      for (const cache of guilds) cache.drop(change.guild_id);
      for (const id of change.channel_ids ?? []) for (const cache of channels) cache.drop(id);
    },
    gap() {
      for (const cache of [...guilds, ...channels]) cache.clear();
    },
  });
}

/** A batch split into the changes it announces and the records to dead-letter (with why). */
export function readStateChanges(records: readonly ConsumedRecord[], source: { topic: string; partition: number }): { changes: StateChange[]; letters: DeadLetter[] } {
  const changes: StateChange[] = [];
  const letters: DeadLetter[] = [];
  for (const record of records) {
    try {
      changes.push(parseStateChange(record.value));
    } catch (err) {
      if (!(err instanceof StateChangeError)) throw err;
      letters.push({ stage: STAGE, reason: err.message, key: record.key, value: record.value, headers: record.headers, source: { ...source, offset: record.offset } });
    }
  }
  return { changes, letters };
}

export interface StateChangesFollowerOptions {
  kafka: KafkaClient;
  topics: { stateChanges: string; deadLetter: string };
  logger: Logger;
  registry?: Registry;
  /** Default: one of its own per process (host, pid, random), so every process reads every record. */
  groupId?: string;
  /** Subscribed before the first join, so they see its gap too (`subscribe` later misses it). */
  listeners?: StateChangeListener[];
}

/** `subscribe` after the first join: the listener must hold nothing loaded before `ready`. */
export interface StateChangesFollower extends StateChangeSource {
  /** Resolves once reading from the topic's end: changes acknowledged after this reach the listeners. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows `state-changes` from its end, in a group of its own that never commits: a cache starts
 * empty, so older records name nothing it holds. Every join (the first, and each rejoin after a
 * crash or rebalance) holds fetching, seeks to the end and tells the listeners `gap()` before
 * fetching again, because records between the last one read and that end were never seen. A
 * record that does not parse is dead-lettered with the reason and skipped.
 */
export async function followStateChanges(options: StateChangesFollowerOptions): Promise<StateChangesFollower> {
  const { kafka, topics } = options;
  const topic = topics.stateChanges;
  const logger = options.logger.child({ component: 'state-changes', topic });
  const metrics = followerMetrics(options.registry);
  const groupId = options.groupId ?? `guildcast-state-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const listeners = new Set<StateChangeListener>(options.listeners);
  const admin = kafka.admin();
  const producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);

  let stopping = false;
  let current: GroupConsumer | undefined;
  let generation = 0;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));

  const atEnd = async (consumer: GroupConsumer, partitions: number[]) => {
    const joined = ++generation;
    try {
      consumer.pause(topic);
    } catch {
      return;
    }
    for (let attempt = 1; !stopping && joined === generation; attempt++) {
      try {
        const ends = await admin.topicOffsets(topic);
        for (const p of partitions) {
          const end = ends.find((e) => e.partition === p);
          if (end) consumer.seek(topic, p, end.high);
        }
        // After the seek: whatever a listener loads from now on is either current or announced at or after that end.
        for (const listener of listeners) {
          try {
            listener.gap();
          } catch (err) {
            logger.error({ err }, 'a state-changes listener failed to drop its entries');
          }
        }
        metrics.gaps.inc();
        consumer.resume(topic);
        onReady();
        return;
      } catch (err) {
        logger.warn({ err, attempt }, 'cannot seek the state-changes follower to the topic end; retrying');
        await sleep(backoffDelay(attempt, { minMs: 250, maxMs: 5_000 }));
      }
    }
  };

  const create = async () => {
    const consumer = kafka.consumer({ groupId, maxWaitMs: 100 });
    current = consumer;
    const mine = <T>(listener: (payload: T) => void) => (payload: T) => {
      if (consumer === current && !stopping) listener(payload);
    };
    consumer.on('join', mine(({ assignment }) => void atEnd(consumer, assignment[topic] ?? [])));
    consumer.on(
      'crash',
      mine(({ error, restart }) => {
        logger.warn({ err: error, restart }, 'state-changes follower crashed');
        if (!restart) void recreate();
      }),
    );
    await consumer.run({
      topics: [topic],
      from: 'latest',
      eachBatch: async ({ batch }) => {
        const { changes, letters } = readStateChanges(batch.records, { topic, partition: batch.partition });
        for (const change of changes) {
          metrics.records.inc({ kind: change.kind });
          for (const listener of listeners) {
            try {
              listener.change(change);
            } catch (err) {
              logger.error({ err, guild_id: change.guild_id }, 'a state-changes listener failed');
            }
          }
        }
        if (letters.length > 0) await deadLetter(letters);
      },
    });
  };

  /** Never throws: a record that cannot even be dead-lettered is logged with its reason and skipped. */
  const deadLetter = async (letters: DeadLetter[]) => {
    metrics.invalid.inc(letters.length);
    for (const letter of letters) logger.warn({ offset: letter.source?.offset, reason: letter.reason }, 'invalid state-changes record: dead-lettered');
    let tries = 0;
    await retryWithBackoff(() => sendDeadLetters(producer, topics.deadLetter, letters), { minMs: 200, maxMs: 2_000, retryable: () => ++tries < 5 && !stopping }).catch((err) =>
      logger.error({ err, letters: letters.map((l) => ({ offset: l.source?.offset, reason: l.reason })) }, 'could not dead-letter invalid state-changes records; skipped'),
    );
  };

  const recreate = async () => {
    for (let attempt = 1; !stopping; attempt++) {
      await sleep(backoffDelay(attempt, { minMs: 500, maxMs: 15_000 }));
      if (stopping) return;
      try {
        await create();
        return;
      } catch (err) {
        logger.warn({ err, attempt }, 'could not recreate the state-changes follower; retrying');
      }
    }
  };

  try {
    await create();
  } catch (err) {
    await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    throw err;
  }

  return {
    ready,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async stop() {
      stopping = true;
      await current?.stop();
      await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function followerMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    (registry?.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers });
  return {
    records: counter('guildcast_state_changes_read_total', 'state-changes records read and handed to the caches, by kind', ['kind']),
    invalid: counter('guildcast_state_changes_invalid_total', 'state-changes records that did not parse (dead-lettered)', []),
    gaps: counter('guildcast_state_changes_gaps_total', 'Joins at the topic end, each dropping every cached entry', []),
  };
}
