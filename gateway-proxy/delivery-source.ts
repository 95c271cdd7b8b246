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

/** Where a source hands its events, losses and its end; and what it may count and log with. */
export interface DeliveryTarget {
  /** One event, in the feed's order per partition; a throw means "not handled": the source offers it again. */
  onEvent(event: EventEnvelope): void;
  onLoss(loss: DeliveryLoss): void;
  /** The source cannot be brought back: the process has to stop and be restarted. */
  onFatal(reason: Error): void;
  metrics: EdgeMetrics;
  logger: Logger;
}

/**
 * The edge's feed of persisted events (ARCHITECTURE.md, "Kafka seam"). The Kafka one
 * (kafka-delivery-source.ts) reads `deliveries`; the in-memory one (memory-delivery-source.ts)
 * takes events pushed by unit tests and benchmarks, so the edge's connection logic runs without a broker.
 */
export interface DeliverySource {
  /** Starts feeding `target`; resolves once the source runs (not necessarily reading yet). */
  start(target: DeliveryTarget): Promise<void>;
  /** Resolves once the source first reads from its positions: events produced after that reach the edge. */
  ready(): Promise<void>;
  /** Why the edge is not receiving its feed right now, or undefined while it is (readiness). */
  problem(): string | undefined;
  stop(): Promise<void>;
}
