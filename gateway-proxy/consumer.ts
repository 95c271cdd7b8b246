import type { Kafka, IHeaders, KafkaMessage } from 'kafkajs';
import { EnvelopeError, parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { sendDeadLetters, type DeadLetter } from '../core/kafka/dead-letter.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import type { Logger } from '../core/logger.ts';
import type { EdgeMetrics } from './metrics.ts';

const STAGE = 'edge.consume';

export interface DeliveryConsumerOptions {
  kafka: Kafka;
  topic: string;
  deadLetterTopic: string;
  /** Every edge node has its own group, so each reads every partition. */
  groupId: string;
  metrics: EdgeMetrics;
  logger: Logger;
  onEvent: (event: EventEnvelope) => void;
}

export interface DeliveryConsumer {
  /** Resolves once the consumer owns its partitions: events produced after this reach the edge. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Reads `deliveries` from the end (sessions start empty, so older events have nobody to go to),
 * drops records whose source offset this node already passed on that partition (fanout
 * redeliveries), and dead-letters records that are not valid envelopes. Offsets are never
 * committed: a restarted node starts from the end again.
 */
export async function startDeliveryConsumer(options: DeliveryConsumerOptions): Promise<DeliveryConsumer> {
  const { kafka, topic, metrics } = options;
  const logger = options.logger.child({ component: 'deliveries', topic });
  const admin = kafka.admin();
  await admin.connect();
  // The end of every partition now: pinned so nothing produced after start-up is skipped while the group forms.
  const ends = await withRetries(() => admin.fetchTopicOffsets(topic)).finally(() => admin.disconnect());
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  await Promise.all([producer.connect(), consumer.connect()]);
  let onJoin!: () => void;
  const ready = new Promise<void>((resolve) => (onJoin = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => onJoin());

  const passed = new Map<number, bigint>();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const letters: DeadLetter[] = [];
      for (const message of batch.messages) {
        metrics.recordsConsumed.inc();
        const reject = (reason: string) => {
          metrics.recordsInvalid.inc();
          logger.warn({ partition: batch.partition, offset: message.offset, reason }, 'invalid delivery record: dead-lettered');
          letters.push(deadLetter(message, reason, { topic, partition: batch.partition, offset: message.offset }));
        };
        const sourceOffset = headerOffset(message.headers);
        if (sourceOffset === undefined) {
          reject(`missing or invalid ${SOURCE_OFFSET_HEADER} header`);
          continue;
        }
        const last = passed.get(batch.partition);
        if (last !== undefined && sourceOffset <= last) {
          metrics.redeliveriesDropped.inc();
          continue;
        }
        passed.set(batch.partition, sourceOffset);
        let event: EventEnvelope;
        try {
          event = parseEnvelope(message.value);
        } catch (err) {
          if (!(err instanceof EnvelopeError)) throw err;
          reject(err.message);
          continue;
        }
        options.onEvent(event);
      }
      await sendDeadLetters(producer, options.deadLetterTopic, letters);
    },
  });
  for (const partition of ends) consumer.seek({ topic, partition: partition.partition, offset: partition.high });

  return {
    ready,
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

/** Leadership can still be settling right after a topic was created. */
async function withRetries<T>(attempt: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= tries || (err as { retriable?: boolean }).retriable === false) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function headerOffset(headers: IHeaders | undefined): bigint | undefined {
  const raw = headers?.[SOURCE_OFFSET_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  const text = value === undefined ? undefined : value.toString();
  return text !== undefined && /^\d{1,19}$/.test(text) ? BigInt(text) : undefined;
}

function deadLetter(message: KafkaMessage, reason: string, source: DeadLetter['source']): DeadLetter {
  return { stage: STAGE, reason, key: message.key, value: message.value, source, headers: message.headers };
}
