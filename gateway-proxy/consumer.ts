import { EnvelopeError, parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { sendDeadLetters, type DeadLetter } from '../core/kafka/dead-letter.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { isRetriable, type BatchContext, type ConsumedRecord, type GroupConsumer, type KafkaClient, type PartitionOffsets } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import { backoffDelay, retryWithBackoff } from '../core/retry/backoff.ts';
import type { DeliveryLoss } from './delivery-source.ts';
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
  /** Every edge node has its own group, so each reads every partition. */
  groupId: string;
  metrics: EdgeMetrics;
  logger: Logger;
  onEvent: (event: EventEnvelope) => void;
  /** Records this edge had not read are gone from Kafka (retention, deleted records): its sessions must be told. */
  onLoss: (loss: DeliveryLoss) => void;
  /** The consumer cannot be brought back: the process has to stop and be restarted. */
  onFatal: (reason: Error) => void;
  /** No heartbeat or batch for this long while joined counts as not working. */
  stallMs?: number;
}

export interface DeliveryConsumer {
  /** Resolves once the consumer first reads from its positions: events produced after start-up reach the edge. */
  ready: Promise<void>;
  /** Why the edge is not reading `deliveries` right now (crashed, restarting, rejoining, stalled), or undefined while it is. */
  problem(): string | undefined;
  stop(): Promise<void>;
}

type State = 'starting' | 'verifying' | 'fetching' | 'rebalancing' | 'restarting' | 'stopped';

/**
 * Reads every partition of `deliveries` from this process's own positions: the end of each
 * partition at start-up (sessions start empty, so older events have nobody to go to), then the
 * offset after the last record handled. Offsets are never committed, because a restarted process
 * has no sessions to catch up; but within a process, every (re)join of the group (kafkajs
 * restarting a crashed consumer, a rebalance, or this module recreating a consumer kafkajs gave up
 * on) seeks back to those positions, so a consumer restart never jumps to "latest". A position
 * that fell below the log start (retention passed while Kafka was unreachable) cannot be made
 * whole: `onLoss` tells the sessions, and reading goes on from the log start.
 *
 * Also drops records whose source offset this node already passed on that partition (fanout
 * redeliveries) and dead-letters records that are not valid envelopes.
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
  /** Next offset to handle per partition: the edge's own, in memory only. */
  const positions = new Map<number, bigint>(ends.map((p) => [p.partition, BigInt(p.high)]));
  /** Source offsets passed per partition, for dropping fanout's redeliveries. */
  const passed = new Map<number, bigint>();
  /** Dead letters of records already passed whose send failed: retried with the next batch, not lost with the retry. */
  let unsentLetters: DeadLetter[] = [];
  const producer = kafka.producer();
  await producer.connect();

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

  const loss = (partition: number, records: bigint, why: string) => {
    metrics.deliveriesLost.inc(Number(records));
    logger.error({ partition, records: String(records), why }, 'deliveries lost before this edge read them: invalidating the sessions that needed them');
    options.onLoss({ partition, partitions: partitionCount, records });
  };

  /** One record: dropped as a redelivery, dead-lettered, or handed to `onEvent`. Throws only what `onEvent` throws. */
  const handle = (partition: number, message: ConsumedRecord, letters: DeadLetter[]) => {
    metrics.recordsConsumed.inc();
    const reject = (reason: string) => {
      metrics.recordsInvalid.inc();
      logger.warn({ partition, offset: message.offset, reason }, 'invalid delivery record: dead-lettered');
      letters.push(deadLetter(message, reason, { topic, partition, offset: message.offset }));
    };
    const sourceOffset = headerOffset(message.headers);
    if (sourceOffset === undefined) return reject(`missing or invalid ${SOURCE_OFFSET_HEADER} header`);
    const last = passed.get(partition);
    if (last !== undefined && sourceOffset <= last) return void metrics.redeliveriesDropped.inc();
    let event: EventEnvelope;
    try {
      event = parseEnvelope(message.value);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      passed.set(partition, sourceOffset);
      return reject(err.message);
    }
    options.onEvent(event);
    passed.set(partition, sourceOffset);
  };

  const eachBatch = async ({ batch }: BatchContext) => {
    const partition = batch.partition;
    const letters = unsentLetters;
    unsentLetters = [];
    for (const message of batch.records) {
      const offset = BigInt(message.offset);
      const expected = positions.get(partition);
      // Fetched for an older position (a fetch in flight across a rejoin): already handled.
      if (expected !== undefined && offset < expected) continue;
      if (expected !== undefined && offset > expected) {
        // kafkajs resets a position that is out of range to the log start on its own; whatever lay between is gone.
        loss(partition, offset - expected, 'offset reset by the client');
        positions.set(partition, offset);
      }
      try {
        handle(partition, message, letters);
      } catch (err) {
        // The record is read again after the retry or restart; the dead letters before it must not be lost meanwhile.
        unsentLetters = letters;
        throw err;
      }
      // Only once handled: a record whose handling failed is read again, not skipped.
      positions.set(partition, offset + 1n);
    }
    try {
      await sendDeadLetters(producer, options.deadLetterTopic, letters);
    } catch (err) {
      unsentLetters = letters;
      throw err;
    }
    recreationsWithoutProgress = 0;
  };

  /**
   * After a join: hold fetching, compare the positions with the partitions' log start, seek to
   * them and fetch again. Paused first, synchronously in the join event, so no fetch runs from
   * wherever kafkajs would start on its own.
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
        if (!bounds) continue;
        const low = BigInt(bounds.low);
        const high = BigInt(bounds.high);
        // A partition added after start-up: all of it is new.
        let position = positions.get(partition) ?? low;
        if (position < low) {
          loss(partition, low - position, 'below the log start (retention or deleted records)');
          position = low;
        } else if (position > high) {
          logger.warn({ partition, position: String(position), high: String(high) }, 'partition is shorter than this edge\'s position (truncated or recreated): reading from its end');
          position = high;
        }
        positions.set(partition, position);
        consumer.seek(topic, partition, String(position));
      }
      consumer.resume(topic);
    } catch (err) {
      logger.warn({ err }, 'the consumer stopped while its positions were being restored; the next join restores them');
      return;
    }
    state = 'fetching';
    progress();
    onReady();
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
        options.onFatal(new Error(`the deliveries consumer failed ${MAX_RECREATIONS} times in a row without reading anything: ${cause.message}`));
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
      await current?.stop();
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function headerOffset(headers: Record<string, Buffer>): bigint | undefined {
  const text = headers[SOURCE_OFFSET_HEADER]?.toString();
  return text !== undefined && /^\d{1,19}$/.test(text) ? BigInt(text) : undefined;
}

function deadLetter(message: ConsumedRecord, reason: string, source: DeadLetter['source']): DeadLetter {
  return { stage: STAGE, reason, key: message.key, value: message.value, source, headers: message.headers };
}
