import type { EventEnvelope } from '../core/events/envelope.ts';
import type { Logger } from '../core/logger.ts';
import type { EdgeMetrics } from './metrics.ts';

/** Events the edge can no longer get: its sessions that needed them must be told (op 9). */
export interface DeliveryLoss {
  partition: number;
  /** Partitions of the feed (to work out which sessions could have had events there). */
  partitions: number;
  /** Records between the edge's position and where reading could go on. */
  records: bigint;
}

/**
 * Where reading one partition of the feed stands, between two events: every record before
 * `offset` was handed on (or dropped). This, with a session's seq, is what a session checkpoint
 * stores, so that any node can replay what came after it.
 */
export interface FeedPosition {
  /** The next offset of `deliveries` to handle on the partition. */
  offset: bigint;
  /** The highest source offset (`x-guildcast-source-offset`) passed on it, -1n for none: redeliveries at or below it are dropped. */
  passed: bigint;
}

/**
 * Records before a partition's end a source reads for their source offsets only when it starts
 * reading the partition: fanout's redeliveries after a crash can straddle that end, and the ones
 * after it are known as such. Fanout repeats at most what it had produced but not committed:
 * a chunk per partition (500) plus FANOUT_COMMIT_INTERVAL_MS (100 ms) of its traffic.
 */
export const DEFAULT_FEED_LOOKBACK = 1_000;

/** Where an event came from on the feed. */
export interface FeedOrigin {
  partition: number;
  offset: bigint;
  /** Its `x-guildcast-source-offset`: a session taken over compares it with what its replay passed. */
  sourceOffset: bigint;
}

/** Where a source hands its events, losses and its end; and what it may count and log with. */
export interface DeliveryTarget {
  /** One event, in the feed's order per partition; a throw means "not handled": the source offers it again. */
  onEvent(event: EventEnvelope, origin: FeedOrigin): void;
  onLoss(loss: DeliveryLoss): void;
  /** The source cannot be brought back: the process has to stop and be restarted. */
  onFatal(reason: Error): void;
  metrics: EdgeMetrics;
  logger: Logger;
}

/** `replay` cannot serve the range: its start is below the partition's log start (retention, deleted records). */
export class ReplayGoneError extends Error {
  override name = 'ReplayGoneError';
}

/**
 * The edge's feed of persisted events (ARCHITECTURE.md, "From fanout to the edge"). The Kafka one
 * (kafka-delivery-source.ts) reads `deliveries`; the in-memory one (memory-delivery-source.ts)
 * takes events pushed by unit tests and benchmarks, so the edge's connection logic runs without a broker.
 *
 * A source reads only the partitions somebody wants (`want`/`release`, counted per partition):
 * a node whose sessions hold a quarter of the shards reads a quarter of the feed.
 */
export interface DeliverySource {
  /** Starts the source; resolves once it runs. It reads no partition until one is wanted. */
  start(target: DeliveryTarget): Promise<void>;
  /** Resolves once the source can serve `want` (joined, positions restored). */
  ready(): Promise<void>;
  /** Why the edge is not receiving its feed right now, or undefined while it is (readiness). */
  problem(): string | undefined;
  /** Partitions of the feed (known once started). */
  partitionCount(): number;
  /**
   * Reads `partitions` too. One nobody read yet starts at its end now; one already read is not
   * touched (sessions on it lose and repeat nothing). Resolves once every one of them is being read,
   * with its live position: events after it reach `onEvent`.
   */
  want(partitions: readonly number[]): Promise<Map<number, FeedPosition>>;
  /** The caller no longer needs `partitions`; one nobody wants any more stops being read. */
  release(partitions: readonly number[]): void;
  /**
   * The live positions of partitions being read, now (between two events); one not being read is
   * left out. Called from inside `onEvent`, the event being handled counts as handled.
   */
  positions(partitions: readonly number[]): Map<number, FeedPosition>;
  /**
   * Hands the records `[from.offset, to)` of `partition` to `onEvent`, in order, dropping
   * redeliveries (source offset at or below `from.passed`, then the highest seen) and records that
   * are not envelopes, for RESUME on a node that did not hold the session. Resolves with the
   * highest source offset passed by `to` (`from.passed` if none was higher): live records at or
   * below it are redeliveries for that session. Rejects with ReplayGoneError when `from.offset`
   * is below the log start.
   */
  replay(partition: number, from: FeedPosition, to: bigint, onEvent: (event: EventEnvelope, origin: FeedOrigin) => void): Promise<bigint>;
  stop(): Promise<void>;
}
