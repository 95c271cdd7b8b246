import { byteBatches, recordBytes } from '../core/kafka/byte-batches.ts';
import { deadLetterMessage } from '../core/kafka/dead-letter.ts';
import type { OutgoingRecord, TopicMessages } from '../core/kafka/types.ts';
import { persistChunk, type ChunkContext, type ChunkOutcome, type SourceRecord } from './persist-chunk.ts';

export interface DeliverContext extends ChunkContext {
  deliveriesTopic: string;
  deadLetterTopic: string;
  /** One acknowledged (acks=all) produce request; resolves only once Kafka has every record of it. */
  send(topicMessages: TopicMessages[]): Promise<void>;
  /** Upper bound on one request's records, in `recordBytes` (core/kafka/byte-batches.ts). */
  maxRequestBytes: number;
}

export interface DeliveredChunk extends ChunkOutcome {
  /** Produce requests the chunk's deliveries and dead letters took. */
  requests: number;
}

/**
 * One chunk from records to acknowledged output: persist it, produce its deliveries (same
 * partition number) and dead letters in requests the broker accepts, one after another so the
 * partition's order holds, and only then count its gateway events as delivered. If any request
 * fails, this throws with the replay filter untouched: the retried chunk is persisted again
 * (idempotent) and delivered in full; the requests that did succeed repeat their source offsets,
 * which the edge drops.
 */
export async function deliverChunk(records: SourceRecord[], ctx: DeliverContext): Promise<DeliveredChunk> {
  const outcome = await persistChunk(records, ctx);
  const out: { topic: string; message: OutgoingRecord }[] = [
    ...outcome.deliveries.map((d) => ({
      topic: ctx.deliveriesTopic,
      message: { partition: ctx.partition, key: d.key, value: d.value, headers: d.headers },
    })),
    ...outcome.deadLetters.map((letter) => ({ topic: ctx.deadLetterTopic, message: deadLetterMessage(letter) })),
  ];
  const requests = byteBatches(out, { maxBytes: ctx.maxRequestBytes }, (o) => recordBytes(o.message));
  for (const request of requests) await ctx.send(byTopic(request));
  ctx.replays.accept(outcome.seen);
  return { ...outcome, requests: requests.length };
}

function byTopic(request: { topic: string; message: OutgoingRecord }[]): TopicMessages[] {
  const topics = new Map<string, OutgoingRecord[]>();
  for (const { topic, message } of request) {
    let messages = topics.get(topic);
    if (!messages) topics.set(topic, (messages = []));
    messages.push(message);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}
