import { CompressionTypes, type Kafka, type Message, type Producer as RawProducer } from 'kafkajs';
import type { Compression, Producer, ProducerOptions, SendOptions, TopicMessages } from '../types.ts';

const compressions: Record<Compression, CompressionTypes> = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };

export class KafkajsProducer implements Producer {
  private readonly producer: RawProducer;

  constructor(kafka: Kafka, { idempotent = false, partitioner }: ProducerOptions = {}) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      // Idempotence needs one request in flight; without it, partitions' sends must not queue behind one another.
      ...(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}),
      ...(partitioner
        ? { createPartitioner: () => ({ partitionMetadata, message }: { partitionMetadata: unknown[]; message: Message }) => partitioner(message.key, partitionMetadata.length) }
        : {}),
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send({ compression, ...request }: TopicMessages & SendOptions): Promise<void> {
    await this.sendBatch([request], { compression });
  }

  async sendBatch(topicMessages: TopicMessages[], { compression = 'none' }: SendOptions = {}): Promise<void> {
    await this.producer.sendBatch({ acks: -1, compression: compressions[compression], topicMessages: topicMessages as { topic: string; messages: Message[] }[] });
  }
}
