import { byteBatches, recordBytes } from '../core/kafka/byte-batches.ts';
import { deadLetterMessage } from '../core/kafka/dead-letter.ts';
import { stateChangeRecord } from '../core/events/state-change.ts';
import type { OutgoingRecord, TopicMessages } from '../core/kafka/types.ts';
import { persistChunk, type ChunkContext, type ChunkOutcome, type SourceRecord } from './persist-chunk.ts';

export interface DeliverContext extends ChunkContext {
  deliveriesTopic: string;
  deadLetterTopic: string;
  /** Where the guilds whose stored state the chunk changed are announced (`state-changes`). */
  stateChangesTopic: string;
  /** One acknowledged (acks=all) produce request; resolves only once Kafka has every record of it. */
  send(topicMessages: TopicMessages[]): Promise<void>;
  /** Upper bound on one request's records, in `recordBytes` (core/kafka/byte-batches.ts). */
  maxRequestBytes: number;
}

export interface DeliveredChunk extends ChunkOutcome {
  /** Produce requests the chunk's state changes, deliveries and dead letters took. */
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
  // Right after the state write, in a request of their own before any delivery: a cache drops its
  // entry no later than a client hears of the change, whatever the broker does with one request's
  // partitions. A failure later on repeats the chunk, whose state write announces the guilds again
  // (the store announces a guild its events concern even when they changed nothing), so a record is never lost, at worst sent twice.
  let stateRequests = 0;
  if (outcome.stateChanges.length > 0) {
    const changes = outcome.stateChanges.map((change) => ({ topic: ctx.stateChangesTopic, message: stateChangeRecord(change) }));
    for (const request of byteBatches(changes, { maxBytes: ctx.maxRequestBytes }, (o) => recordBytes(o.message))) {
      await ctx.send(byTopic(request));
      stateRequests++;
    }
  }
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
  return { ...outcome, requests: stateRequests + requests.length };
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
