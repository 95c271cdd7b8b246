import { describe, expect, it } from 'vitest';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { StoreUnavailableError, StoreValidationError } from '../store/index.ts';
import { ReplayFilter } from './dedupe.ts';
import { waves } from './operations.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { persistChunk, type MessageSink, type SourceRecord } from './persist-chunk.ts';

const guild = '81384788765712384';
const channel = '81384788765712385';
let offset = 0;

function envelope(type: string, d: unknown, extra: Partial<EventEnvelope> = {}): EventEnvelope {
  return { v: 1, id: `t:${offset}`, type, guild_id: guild, channel_id: channel, source: 'http', received_at: 1, trace_id: `trace-${offset}`, d, ...extra };
}
function record(value: EventEnvelope | string): SourceRecord {
  return { offset: String(offset++), key: Buffer.from(guild), value: typeof value === 'string' ? Buffer.from(value) : serializeEnvelope(value) };
}
const create = (id: string, extra: Partial<EventEnvelope> = {}) =>
  record(envelope('MESSAGE_CREATE', { id, channel_id: channel, author: { id: '1' }, content: id }, extra));

/** An in-memory store that logs calls and fails on demand. */
class FakeSink implements MessageSink {
  calls: string[] = [];
  failures: Error[] = [];
  invalidIds = new Set<string>();
  rows = new Map<string, string>();
  private next(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
  async upsertMessages(messages: Record<string, unknown>[]) {
    this.calls.push(`create ${messages.map((m) => m.id).join(',')}`);
    this.next();
    const bad = messages.flatMap((m, index) => (this.invalidIds.has(String(m.id)) || m.id === undefined ? [{ index, reason: `bad ${String(m.id)}` }] : []));
    if (bad.length > 0) throw new StoreValidationError(bad);
    for (const m of messages) this.rows.set(String(m.id), String(m.content));
  }
  async applyEdits(edits: Record<string, unknown>[]) {
    this.calls.push(`edit ${edits.map((m) => m.id).join(',')}`);
    this.next();
    for (const m of edits) if (this.rows.has(String(m.id))) this.rows.set(String(m.id), String(m.content));
  }
  async deleteMessages(_channel: string, ids: string[]) {
    this.calls.push(`delete ${ids.join(',')}`);
    this.next();
    for (const id of ids) this.rows.delete(id);
  }
}

function context(sink: MessageSink, extra: { retries?: Error[]; maxUnexpectedFailures?: number; replays?: ReplayFilter } = {}) {
  return {
    topic: 'events',
    partition: 3,
    sink,
    replays: extra.replays ?? new ReplayFilter(),
    maxUnexpectedFailures: extra.maxUnexpectedFailures ?? 3,
    beforeRetry: async (_attempt: number, error: Error) => void extra.retries?.push(error),
  };
}

describe('persistChunk', () => {
  it('writes, then returns every event for delivery in stream order with its source offset', async () => {
    const sink = new FakeSink();
    const records = [create('10'), record(envelope('TYPING_START', { channel_id: channel })), create('11')];
    const out = await persistChunk(records, context(sink));
    expect(sink.calls).toEqual(['create 10,11']);
    expect(out.deliveries.map((d) => d.event.type)).toEqual(['MESSAGE_CREATE', 'TYPING_START', 'MESSAGE_CREATE']);
    expect(out.deliveries.map((d) => d.headers[SOURCE_OFFSET_HEADER])).toEqual(records.map((r) => r.offset));
    expect(out.deliveries[0]!.value).toBe(records[0]!.value); // the original bytes: serialized once
    expect(out.persisted).toHaveLength(2);
    expect(out.deadLetters).toEqual([]);
  });

  it('keeps create → edit → delete order for one message by splitting waves', async () => {
    const sink = new FakeSink();
    const records = [
      create('20'),
      record(envelope('MESSAGE_UPDATE', { id: '20', channel_id: channel, content: 'edited' })),
      create('21'),
      record(envelope('MESSAGE_DELETE', { id: '20', channel_id: channel })),
    ];
    await persistChunk(records, context(sink));
    expect(sink.calls.filter((c) => c.endsWith(' 20'))).toEqual(['create 20', 'edit 20', 'delete 20']);
    expect(sink.calls).toContain('create 21');
    expect([...sink.rows.keys()]).toEqual(['21']);
  });

  it('dead-letters unparseable records and invalid messages with reasons, and writes the rest', async () => {
    const sink = new FakeSink();
    sink.invalidIds.add('31');
    const records = [create('30'), record('{not json'), record(JSON.stringify({ v: 1 })), create('31'), create('32')];
    const out = await persistChunk(records, context(sink));
    expect([...sink.rows.keys()].sort()).toEqual(['30', '32']);
    expect(out.deadLetters.map((l) => [l.stage, l.source?.offset])).toEqual([
      ['fanout.parse', records[1]!.offset],
      ['fanout.parse', records[2]!.offset],
      ['fanout.persist', records[3]!.offset],
    ]);
    expect(out.deadLetters[0]!.reason).toMatch(/not JSON/);
    expect(out.deadLetters[2]!.reason).toBe('bad 31');
    expect(out.deadLetters[2]!.value).toEqual(records[3]!.value);
    expect(out.deliveries.map((d) => (d.event.d as { id: string }).id)).toEqual(['30', '32']);
  });

  it('retries while the store is unavailable, without dead-lettering anything', async () => {
    const sink = new FakeSink();
    sink.failures = [new StoreUnavailableError('down'), new StoreUnavailableError('down'), new StoreUnavailableError('down'), new StoreUnavailableError('down')];
    const retries: Error[] = [];
    const out = await persistChunk([create('40')], context(sink, { retries, maxUnexpectedFailures: 2 }));
    expect(retries).toHaveLength(4);
    expect(sink.rows.get('40')).toBe('40');
    expect(out.deadLetters).toEqual([]);
  });

  it('gives up on an unexpected error after the limit and dead-letters the records it hit', async () => {
    const sink = new FakeSink();
    sink.failures = [new Error('boom'), new Error('boom'), new Error('boom')];
    const out = await persistChunk([create('50')], context(sink, { maxUnexpectedFailures: 3 }));
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.reason).toMatch(/failed 3 times: boom/);
    expect(out.deliveries).toEqual([]);
  });

  it('lets an abandoned retry propagate, so nothing is resolved', async () => {
    const sink = new FakeSink();
    sink.failures = [new StoreUnavailableError('down')];
    const ctx = { ...context(sink), beforeRetry: async () => { throw new Error('abandoned'); } };
    await expect(persistChunk([create('60')], ctx)).rejects.toThrow('abandoned');
  });

  it('drops gateway replays of a session it has already seen on this partition', async () => {
    const sink = new FakeSink();
    const gw = (seq: number) => ({ source: 'gateway' as const, shard: 1, session_id: 's1', seq, id: `gw:1:s1:${seq}` });
    const replays = new ReplayFilter();
    await persistChunk([create('70', gw(5)), create('71', gw(6))], context(sink, { replays }));
    const out = await persistChunk([create('71', gw(6)), create('72', gw(7))], context(sink, { replays }));
    expect(out.replays).toBe(1);
    expect(out.deliveries.map((d) => d.event.seq)).toEqual([7]);
  });
});

describe('waves', () => {
  it('is one wave when no message repeats', () => {
    const items = ['1', '2', '3'].map((id) => ({ op: { kind: 'create' as const, message: { id, channel_id: '9' } } }));
    expect(waves(items)).toHaveLength(1);
  });
});
