import { describe, expect, it } from 'vitest';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { MAX_REQUEST_BYTES, recordBytes } from '../core/kafka/byte-batches.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import type { TopicMessages } from '../core/kafka/types.ts';
import { ReplayFilter } from './dedupe.ts';
import { deliverChunk, type DeliverContext } from './deliver-chunk.ts';
import type { SourceRecord } from './persist-chunk.ts';
import { FakeGuildState, FakeSink } from './test-fakes.ts';
import { parseStateChange } from '../core/events/state-change.ts';

const guild = '81384788765712384';
const channel = '81384788765712385';
let offset = 100;

function gateway(seq: number, contentBytes = 10): SourceRecord {
  const id = String(1000 + seq);
  const event: EventEnvelope = {
    v: 1,
    id: `gw:0:sess:${seq}`,
    type: 'MESSAGE_CREATE',
    guild_id: guild,
    channel_id: channel,
    source: 'gateway',
    shard: 0,
    session_id: 'sess',
    seq,
    received_at: 1,
    trace_id: `trace-${seq}`,
    d: { id, channel_id: channel, author: { id: '1' }, content: 'x'.repeat(contentBytes) },
  };
  return { offset: String(offset++), key: Buffer.from(guild), value: serializeEnvelope(event) };
}

/** A producer stand-in: records every request, fails the next `failures` of them, and checks they never overlap. */
class FakeSender {
  requests: TopicMessages[][] = [];
  failures = 0;
  private inFlight = 0;
  overlapped = false;
  send = async (topicMessages: TopicMessages[]) => {
    if (++this.inFlight > 1) this.overlapped = true;
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('KafkaJSNumberOfRetriesExceeded: connection refused');
    }
    this.requests.push(topicMessages);
  };
  delivered(): string[] {
    return this.requests.flatMap((r) => r.filter((t) => t.topic === 'deliveries').flatMap((t) => t.messages.map((m) => String(m.headers![SOURCE_OFFSET_HEADER]))));
  }
}

function context(sender: FakeSender, replays: ReplayFilter, sink = new FakeSink()): DeliverContext {
  return {
    topic: 'events',
    partition: 4,
    sink,
    replays,
    maxUnexpectedFailures: 3,
    beforeRetry: async () => undefined,
    deliveriesTopic: 'deliveries',
    deadLetterTopic: 'dead-letter',
    stateChangesTopic: 'state-changes',
    send: sender.send,
    maxRequestBytes: MAX_REQUEST_BYTES,
  };
}

describe('deliverChunk', () => {
  it('delivers a chunk in full when its first send failed after the writes, and only then counts it as seen', async () => {
    const sender = new FakeSender();
    const sink = new FakeSink();
    const replays = new ReplayFilter();
    const chunk = [gateway(1), gateway(2), gateway(3)];
    sender.failures = 1;
    await expect(deliverChunk(chunk, context(sender, replays, sink))).rejects.toThrow('connection refused');
    expect(sink.rows.size).toBe(3); // persisted, not delivered

    const retried = await deliverChunk(chunk, context(sender, replays, sink));
    expect({ replays: retried.replays, delivered: sender.delivered() }).toEqual({ replays: 0, delivered: chunk.map((r) => r.offset) });

    // Now that Kafka acknowledged them, the same events at new offsets (a gateway replay) are dropped.
    const replayed = [gateway(2), gateway(3), gateway(4)];
    const after = await deliverChunk(replayed, context(sender, replays, sink));
    expect(after.replays).toBe(2);
    expect(sender.delivered().slice(3)).toEqual([replayed[2]!.offset]);
  });

  it('splits a large chunk into requests under the size limit, sent one after another in stream order', async () => {
    const sender = new FakeSender();
    const chunk = Array.from({ length: 500 }, (_, i) => gateway(i + 1, 2000 + ((i * 977) % 2000)));
    const out = await deliverChunk(chunk, context(sender, new ReplayFilter()));
    const sizes = sender.requests.map((r) => r.flatMap((t) => t.messages).reduce((sum, m) => sum + recordBytes(m), 0));
    expect(out.requests).toBe(sender.requests.length);
    expect(sender.requests.length).toBeGreaterThan(1);
    expect(sizes.every((s) => s <= MAX_REQUEST_BYTES)).toBe(true);
    expect(sender.delivered()).toEqual(chunk.map((r) => r.offset));
    expect(sender.overlapped).toBe(false);
  });

  it('sends dead letters with the deliveries and keeps every delivery on the source partition', async () => {
    const sender = new FakeSender();
    const chunk = [gateway(1), { offset: String(offset++), key: Buffer.from(guild), value: Buffer.from('{oops') }, gateway(2)];
    await deliverChunk(chunk, context(sender, new ReplayFilter()));
    const topics = sender.requests.flatMap((r) => r.map((t) => [t.topic, t.messages.length]));
    expect(topics).toEqual([
      ['deliveries', 2],
      ['dead-letter', 1],
    ]);
    expect(sender.requests.flatMap((r) => r.filter((t) => t.topic === 'deliveries').flatMap((t) => t.messages.map((m) => m.partition)))).toEqual([4, 4]);
  });

  it('announces changed guilds on state-changes in a request of its own before the deliveries, and again when the chunk is retried', async () => {
    const sender = new FakeSender();
    const replays = new ReplayFilter();
    const state = new FakeGuildState();
    const guildEvent = (type: string, d: unknown): SourceRecord => {
      const event: EventEnvelope = { v: 1, id: `t:${offset}`, type, guild_id: guild, source: 'http', received_at: 1, trace_id: `trace-g${offset}`, d };
      return { offset: String(offset++), key: Buffer.from(guild), value: serializeEnvelope(event) };
    };
    const chunk = [gateway(1), guildEvent('GUILD_CREATE', { id: guild, channels: [] }), guildEvent('CHANNEL_CREATE', { id: channel, type: 0 }), gateway(2)];
    const ctx = { ...context(sender, replays), guildState: { sink: state, partitions: 4 } };
    // The state-changes request goes out, the deliveries request fails: the chunk is retried.
    let sends = 0;
    const failSecond = async (t: TopicMessages[]) => {
      if (++sends === 2) throw new Error('connection refused');
      await sender.send(t);
    };
    await expect(deliverChunk(chunk, { ...ctx, send: failSecond })).rejects.toThrow('connection refused');
    const retried = await deliverChunk(chunk, ctx);
    const topics = sender.requests.map((r) => r.map((t) => t.topic).join('+'));
    expect(topics).toEqual(['state-changes', 'state-changes', 'deliveries']);
    const announced = sender.requests.filter((r) => r[0]!.topic === 'state-changes').map((r) => parseStateChange(r[0]!.messages[0]!.value as string));
    expect(announced.map((c) => [c.kind, c.guild_id, c.channel_ids])).toEqual([
      ['guild', guild, [channel]],
      ['guild', guild, [channel]],
    ]);
    expect(retried.requests).toBe(2);
    expect(sender.delivered()).toEqual(chunk.map((r) => r.offset));
  });
});
