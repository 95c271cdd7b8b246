import { compatibilityPartitioner, Producer as RawProducer, type MessageToProduce, type PartitionerContext } from '@platformatic/kafka';
import type { OutgoingRecord, Partitioner, Producer, ProducerOptions, SendOptions, TopicMessages } from '../types.ts';
import { libraryOptions, type BaseClientOptions } from './client.ts';
import { classified } from './errors.ts';

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

export class PlatformaticProducer implements Producer {
  private readonly producer: RawProducer;
  private roundRobin = 0;

  constructor(base: BaseClientOptions, { idempotent = false, partitioner }: ProducerOptions = {}) {
    const choose = partitioner ?? this.defaultPartitioner;
    this.producer = new RawProducer({
      ...libraryOptions(base),
      // acks=all on every send; idempotence makes the client keep one request in flight per connection.
      acks: -1,
      idempotent,
      partitioner: (message: Message, key: Buffer | undefined, { metadata }: PartitionerContext) => {
        const partitions = metadata?.topics.get(message.topic)?.partitionsCount;
        // send() loads the metadata of every topic first, so this is a bug, not a race.
        if (!partitions) throw new Error(`no partition count known for topic ${message.topic}`);
        return choose(key ?? null, partitions);
      },
    });
    base.watch(this.producer, 'client:broker:connect');
  }

  /**
   * kafkajs' (and Java's) default, murmur2 of the key, positive, modulo the partitions: the
   * library's own default skips the sign mask, so the two implementations would route one key to
   * different partitions of the same topic. Keyless records go round robin.
   */
  private readonly defaultPartitioner: Partitioner = (key, partitions) => {
    if (key === null || key === undefined) return this.roundRobin++ % partitions;
    const buffer = typeof key === 'string' ? Buffer.from(key) : key;
    return compatibilityPartitioner({} as Message, buffer) % partitions;
  };

  async connect(): Promise<void> {
    // The library connects lazily; asking for the cluster's brokers proves the bootstrap works now.
    await this.producer.metadata({ topics: [] });
  }

  async disconnect(): Promise<void> {
    await this.producer.close();
  }

  async send({ compression, ...request }: TopicMessages & SendOptions): Promise<void> {
    await this.sendBatch([request], { compression });
  }

  async sendBatch(topicMessages: TopicMessages[], { compression = 'none' }: SendOptions = {}): Promise<void> {
    const messages: Message[] = [];
    for (const { topic, messages: records } of topicMessages) for (const record of records) messages.push(toMessage(topic, record));
    if (messages.length === 0) return;
    // The partitioner runs before the library loads metadata: have every topic's partition count first.
    const topics = [...new Set(topicMessages.map((t) => t.topic))];
    const known = this.producer.currentMetadata?.topics;
    if (!known || topics.some((t) => !known.has(t))) await this.producer.metadata({ topics });
    await this.producer.send({ messages, acks: -1, compression }).catch((err: unknown) => {
      throw classified(err);
    });
  }
}

function toMessage(topic: string, record: OutgoingRecord): Message {
  const message: Message = { topic };
  if (record.key !== undefined && record.key !== null) message.key = typeof record.key === 'string' ? Buffer.from(record.key) : record.key;
  if (record.value !== null) message.value = typeof record.value === 'string' ? Buffer.from(record.value) : record.value;
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.headers) {
    const headers = new Map<Buffer, Buffer>();
    for (const [name, value] of Object.entries(record.headers)) headers.set(Buffer.from(name), typeof value === 'string' ? Buffer.from(value) : value);
    message.headers = headers;
  }
  return message;
}
