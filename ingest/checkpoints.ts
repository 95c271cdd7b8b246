import { z } from 'zod';
import { readToEnd } from '../core/kafka/read-to-end.ts';
import type { KafkaClient, Producer } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';
import type { IngestMetrics } from './metrics.ts';
import type { Checkpoint } from './sessions.ts';

/**
 * Durable shard checkpoints on a compacted topic keyed by shard id (ARCHITECTURE.md, "Topics").
 * Only acknowledged positions are recorded here, batched on an interval: a checkpoint may lag what
 * Kafka holds (those events are replayed after a crash, as duplicates with the same id) but never
 * runs ahead of it (which would lose events).
 */
const checkpointRecord = z.object({
  v: z.literal(1),
  shard: z.number().int().min(0),
  shard_count: z.number().int().min(1),
  session_id: z.string().min(1),
  seq: z.number().int().min(0),
  resume_url: z.string().min(1),
  updated_at: z.number(),
});

export function encodeCheckpoint(c: Checkpoint): string {
  return JSON.stringify({ v: 1, shard: c.shard, shard_count: c.shardCount, session_id: c.sessionId, seq: c.seq, resume_url: c.resumeUrl, updated_at: Date.now() });
}

/** Returns undefined for a record that is not a checkpoint (it is logged and ignored, never fatal). */
export function decodeCheckpoint(value: Buffer | string): Checkpoint | undefined {
  try {
    const r = checkpointRecord.parse(JSON.parse(value.toString()));
    return { shard: r.shard, shardCount: r.shard_count, sessionId: r.session_id, seq: r.seq, resumeUrl: r.resume_url };
  } catch {
    return undefined;
  }
}

export interface CheckpointStoreOptions {
  kafka: KafkaClient;
  topic: string;
  intervalMs: number;
  logger: Logger;
  metrics: IngestMetrics;
}

export class CheckpointStore {
  private readonly pending = new Map<number, Checkpoint>();
  private producer: Producer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: CheckpointStoreOptions) {}

  /** Reads the topic to its current end: the last checkpoint of every shard. */
  async load(): Promise<Map<number, Checkpoint>> {
    const { kafka, topic, logger } = this.options;
    const latest = new Map<number, Checkpoint>();
    await readToEnd(
      kafka,
      topic,
      (record) => {
        const shard = Number(record.key?.toString());
        if (record.value === null) latest.delete(shard);
        else {
          const checkpoint = decodeCheckpoint(record.value);
          if (checkpoint) latest.set(checkpoint.shard, checkpoint);
          else logger.warn({ offset: record.offset, key: record.key?.toString() }, 'ignoring a malformed checkpoint record');
        }
      },
      { groupPrefix: `${topic}.loader` },
    );
    return latest;
  }

  async start(): Promise<void> {
    this.producer = this.options.kafka.producer({ idempotent: true });
    await this.producer.connect();
    this.timer = setInterval(() => void this.flush().catch((err) => this.options.logger.warn({ err }, 'checkpoint write failed; retrying on the next tick')), this.options.intervalMs);
  }

  /** Remembers the newest acknowledged position of a shard; written on the next tick. */
  record(checkpoint: Checkpoint): void {
    this.pending.set(checkpoint.shard, checkpoint);
  }

  flush(): Promise<void> {
    this.writing = this.writing.catch(() => undefined).then(() => this.write());
    return this.writing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch((err) => this.options.logger.warn({ err }, 'final checkpoint write failed; the gateway replays from the previous one'));
    await this.producer?.disconnect();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0 || !this.producer) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.producer.send({ topic: this.options.topic, messages: batch.map((c) => ({ key: String(c.shard), value: encodeCheckpoint(c) })) });
      this.options.metrics.checkpointWrites.inc(batch.length);
    } catch (err) {
      // Put them back unless a newer position arrived meanwhile.
      for (const c of batch) if (!this.pending.has(c.shard)) this.pending.set(c.shard, c);
      throw err;
    }
  }
}
