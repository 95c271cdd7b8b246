import { EventEmitter } from 'node:events';
import { MAX_REQUEST_BYTES, batchEnd, recordBytes } from '../core/kafka/byte-batches.ts';
import type { Headers, OutgoingRecord, Producer, TopicMessages } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import { retryWithBackoff } from '../core/retry/backoff.ts';
import type { IngestMetrics } from './metrics.ts';

/** Where a gateway record sits in its shard's stream; acknowledged positions become checkpoints. */
export interface ShardPosition {
  shard: number;
  sessionId: string;
  seq: number;
}

export interface OutboundRecord {
  topic: string;
  key: string | null | undefined;
  value: Buffer;
  headers?: Headers;
  /** Event type, for metrics. */
  type: string;
  /** Gateway records: the position this record completes once acknowledged. */
  position?: ShardPosition;
}

export interface PublisherOptions {
  producer: Pick<Producer, 'sendBatch'>;
  /** Records (queued + in flight) at which the publisher reports itself full. */
  maxRecords: number;
  maxBytes: number;
  /** Records per Kafka request at most. */
  batchMax: number;
  /** How long the oldest queued record may wait for a fuller batch. */
  lingerMs: number;
  compression: 'none' | 'gzip';
  logger: Logger;
  metrics: IngestMetrics;
  /** Backoff between attempts of a failed send (core/retry/backoff.ts). */
  retry?: { minMs: number; maxMs: number };
}

export interface PublisherEvents {
  /** The buffer reached its bound: stop producing into it. */
  full: [];
  /** The buffer fell to half its bound: producing may resume. */
  drained: [];
  /** Kafka acknowledged everything up to these positions (the highest per shard). */
  acked: [positions: ShardPosition[]];
}

interface Pending {
  record: OutboundRecord;
  bytes: number;
  enqueuedAt: number;
  settle?: (error?: Error) => void;
}

export class PublisherClosedError extends Error {
  override name = 'PublisherClosedError';
}

/**
 * A bounded, batching front for one idempotent kafkajs producer. One request is in flight at a
 * time, and batches leave in the order records arrived, so each guild's events keep their order on
 * their partition and "acknowledged up to seq" is simply the highest seq of the last acked batch.
 * A failed send is retried (with backoff) until it succeeds or the publisher is closed: a record is
 * never skipped, which is what lets a shard dedupe replays it already holds.
 */
export class BatchingPublisher extends EventEmitter<PublisherEvents> {
  private queue: Pending[] = [];
  private head = 0;
  private records = 0;
  private bytes = 0;
  private full = false;
  private closing = false;
  private readonly abandon = new AbortController();
  private wake: (() => void) | undefined;
  private flushWaiters: { upTo: number; resolve: () => void }[] = [];
  private enqueuedCount = 0;
  private ackedCount = 0;
  private readonly loop: Promise<void>;

  constructor(private readonly options: PublisherOptions) {
    super();
    this.loop = this.run();
  }

  get size(): { records: number; bytes: number } {
    return { records: this.records, bytes: this.bytes };
  }

  isFull(): boolean {
    return this.full;
  }

  /** Queues a record; never refuses one (callers stop reading on `full`), so the bound holds as long as they do. */
  enqueue(record: OutboundRecord): void {
    this.push({ record, bytes: recordBytes(record), enqueuedAt: Date.now() });
  }

  /** Queues a record and resolves once Kafka acknowledged it (HTTP ingest answers only then). */
  publish(record: OutboundRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.push({ record, bytes: recordBytes(record), enqueuedAt: Date.now(), settle: (error) => (error ? reject(error) : resolve()) });
    });
  }

  /** Resolves when everything queued so far is acknowledged. */
  flush(): Promise<void> {
    if (this.ackedCount >= this.enqueuedCount) return Promise.resolve();
    const upTo = this.enqueuedCount;
    return new Promise((resolve) => {
      this.flushWaiters.push({ upTo, resolve });
      this.wake?.();
    });
  }

  /**
   * Sends what is queued and stops. After `timeoutMs` the rest is abandoned: it was never
   * acknowledged, so no checkpoint covers it and the gateway replays it after a restart.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closing = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    // A send stuck inside kafkajs (retrying an unreachable broker) must not hold shutdown hostage.
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.abandon.abort();
        this.wake?.();
        resolve();
      }, timeoutMs);
    });
    try {
      await Promise.race([this.loop, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    if (this.abandon.signal.aborted) this.abandonQueued();
  }

  private push(pending: Pending): void {
    if (this.closing) {
      pending.settle?.(new PublisherClosedError('publisher is closed'));
      return;
    }
    this.queue.push(pending);
    this.enqueuedCount++;
    this.records++;
    this.bytes += pending.bytes;
    this.updateGauges();
    const queued = this.queue.length - this.head;
    if (queued === 1 || queued >= this.options.batchMax) this.wake?.();
    if (!this.full && (this.records >= this.options.maxRecords || this.bytes >= this.options.maxBytes)) {
      this.full = true;
      this.emit('full');
    }
  }

  private async run(): Promise<void> {
    const { batchMax, lingerMs } = this.options;
    for (;;) {
      if (this.abandon.signal.aborted) break;
      const queued = this.queue.length - this.head;
      if (queued === 0) {
        if (this.closing) break;
        await this.sleep();
        continue;
      }
      const due = this.queue[this.head]!.enqueuedAt + lingerMs;
      const hurry = this.closing || this.flushWaiters.length > 0;
      const wait = due - Date.now();
      if (queued < batchMax && !hurry && wait > 0) {
        await this.sleep(wait);
        continue;
      }
      await this.send(this.take(batchMax));
    }
    this.abandonQueued();
  }

  private take(max: number): Pending[] {
    const end = batchEnd(this.queue, this.head, { maxRecords: max, maxBytes: MAX_REQUEST_BYTES }, (p) => p.bytes);
    const batch = this.queue.slice(this.head, end);
    this.head = end;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async send(batch: Pending[]): Promise<void> {
    const { producer, logger, metrics, compression, retry = { minMs: 200, maxMs: 5000 } } = this.options;
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const { record } of batch) {
      let messages = byTopic.get(record.topic);
      if (!messages) byTopic.set(record.topic, (messages = []));
      messages.push({ key: record.key ?? null, value: record.value, ...(record.headers ? { headers: record.headers } : {}) });
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    let lastError: Error | undefined;
    const attempt = async () => {
      try {
        await producer.sendBatch(topicMessages, { compression });
      } catch (err) {
        metrics.sendFailures.inc();
        lastError = err as Error;
        throw err;
      }
    };
    try {
      await retryWithBackoff(attempt, {
        ...retry,
        signal: this.abandon.signal,
        onRetry: (err, attempt, retryInMs) => logger.warn({ err, records: batch.length, attempt, retryInMs }, 'Kafka send failed; retrying the same batch'),
      });
    } catch (err) {
      // Only an abandon (close timed out) ends the retries: the batch was never acknowledged.
      this.settleAbandoned(batch, lastError ?? (err as Error));
      return;
    }
    this.acknowledge(batch);
  }

  private acknowledge(batch: Pending[]): void {
    const { metrics } = this.options;
    const positions = new Map<number, ShardPosition>();
    const byType = new Map<string, number>();
    let bytes = 0;
    for (const pending of batch) {
      bytes += pending.bytes;
      const { position, type } = pending.record;
      if (position) positions.set(position.shard, position);
      byType.set(type, (byType.get(type) ?? 0) + 1);
      pending.settle?.();
    }
    // Per batch, not per record: at tens of thousands of records a second the metrics would cost more than the work.
    for (const [type, count] of byType) metrics.published.inc({ type }, count);
    metrics.ackLatency.observe((Date.now() - batch[0]!.enqueuedAt) / 1000);
    metrics.batchRecords.observe(batch.length);
    this.records -= batch.length;
    this.bytes -= bytes;
    this.ackedCount += batch.length;
    this.updateGauges();
    if (positions.size > 0) this.emit('acked', [...positions.values()]);
    this.flushWaiters = this.flushWaiters.filter((w) => (w.upTo <= this.ackedCount ? (w.resolve(), false) : true));
    if (this.full && this.records <= this.options.maxRecords / 2 && this.bytes <= this.options.maxBytes / 2) {
      this.full = false;
      this.emit('drained');
    }
  }

  private abandonQueued(): void {
    const rest = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    if (rest.length > 0) {
      this.options.logger.warn({ records: rest.length }, 'publisher closed with unacknowledged records; the gateway replays them after a restart');
      this.settleAbandoned(rest, new PublisherClosedError('publisher closed before Kafka acknowledged the record'));
    }
    for (const waiter of this.flushWaiters) waiter.resolve();
    this.flushWaiters = [];
  }

  private settleAbandoned(batch: Pending[], error: Error): void {
    for (const pending of batch) {
      this.records--;
      this.bytes -= pending.bytes;
      pending.settle?.(error);
    }
    this.updateGauges();
  }

  /** Waits for `ms`, or until `wake` is called (a record arrived, a flush or close was asked for). */
  private sleep(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private updateGauges(): void {
    this.options.metrics.bufferRecords.set(this.records);
    this.options.metrics.bufferBytes.set(this.bytes);
  }
}
