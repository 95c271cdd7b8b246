import type { SendOptions, TopicMessages } from '../core/kafka/types.ts';
import { silentLogger } from '../core/logger.ts';
import { Registry } from '../core/metrics.ts';
import { createIngestMetrics } from './metrics.ts';
import { BatchingPublisher, type PublisherOptions } from './publisher.ts';

/** An in-memory stand-in for the Kafka seam's producer, for unit tests of the publishing logic. */
export class FakeProducer {
  readonly batches: { topicMessages: TopicMessages[]; compression?: SendOptions['compression'] }[] = [];
  failures = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  /** Holds every send until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async sendBatch(topicMessages: TopicMessages[], options: SendOptions = {}): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('broker unreachable');
    }
    this.batches.push({ topicMessages, ...(options.compression ? { compression: options.compression } : {}) });
  }

  messages(topic?: string) {
    return this.batches.flatMap((b) => b.topicMessages).filter((t) => topic === undefined || t.topic === topic).flatMap((t) => t.messages);
  }
}

export function fakePublisher(overrides: Partial<PublisherOptions> = {}) {
  const producer = new FakeProducer();
  const metrics = createIngestMetrics(new Registry());
  const publisher = new BatchingPublisher({
    producer,
    maxRecords: 100,
    maxBytes: 1 << 20,
    batchMax: 10,
    lingerMs: 1,
    compression: 'none',
    logger: silentLogger,
    metrics,
    retry: { minMs: 1, maxMs: 5 },
    ...overrides,
  });
  return { producer, publisher, metrics };
}
