import { describe, expect, it } from 'vitest';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { StoreUnavailableError } from '../store/index.ts';
import { FakeGuildState, FakeSink } from './test-fakes.ts';
import { ReplayFilter } from './dedupe.ts';
import { waves } from './operations.ts';
import { PERSISTED_AT_HEADER, SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { persistChunk, type GuildStateSink, type MessageSink, type SourceRecord } from './persist-chunk.ts';

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

function context(sink: MessageSink, extra: { retries?: Error[]; maxUnexpectedFailures?: number; replays?: ReplayFilter; guildState?: GuildStateSink } = {}) {
  return {
    topic: 'events',
    partition: 3,
    sink,
    ...(extra.guildState ? { guildState: { sink: extra.guildState, partitions: 8 } } : {}),
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
    // Stamped once the store acknowledged the chunk: a time, the same for the whole chunk.
    const stamps = new Set(out.deliveries.map((d) => d.headers[PERSISTED_AT_HEADER]));
    expect(stamps.size).toBe(1);
    expect(Number([...stamps][0])).toBeGreaterThan(0);
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

  it('drops gateway replays of a session once its earlier chunk was accepted as delivered', async () => {
    const sink = new FakeSink();
    const gw = (seq: number) => ({ source: 'gateway' as const, shard: 1, session_id: 's1', seq, id: `gw:1:s1:${seq}` });
    const replays = new ReplayFilter();
    const first = await persistChunk([create('70', gw(5)), create('71', gw(6))], context(sink, { replays }));
    replays.accept(first.seen);
    const out = await persistChunk([create('71', gw(6)), create('72', gw(7)), create('72', gw(7))], context(sink, { replays }));
    expect(out.replays).toBe(2);
    expect(out.deliveries.map((d) => d.event.seq)).toEqual([7]);
  });

  it('delivers a retried chunk in full when its first delivery was never acknowledged', async () => {
    const sink = new FakeSink();
    const gw = (seq: number) => ({ source: 'gateway' as const, shard: 0, session_id: 's9', seq, id: `gw:0:s9:${seq}` });
    const replays = new ReplayFilter();
    const records = [create('80', gw(1)), create('81', gw(2)), create('82', gw(3))];
    await persistChunk(records, context(sink, { replays })); // persisted, then the deliveries send failed
    const retried = await persistChunk(records, context(sink, { replays }));
    expect({ delivered: retried.deliveries.length, replays: retried.replays }).toEqual({ delivered: 3, replays: 0 });
  });

  it('lets a dead letter an operator replayed through even though its seq was delivered', async () => {
    const sink = new FakeSink();
    const gw = (seq: number) => ({ source: 'gateway' as const, shard: 0, session_id: 's8', seq, id: `gw:0:s8:${seq}` });
    const replays = new ReplayFilter();
    replays.accept((await persistChunk([create('90', gw(1)), create('91', gw(2))], context(sink, { replays }))).seen);
    const fixed = { ...create('90', gw(1)), headers: { 'x-guildcast-replayed-from': '17' } };
    const out = await persistChunk([fixed, create('91', gw(2))], context(sink, { replays }));
    expect(out.deliveries.map((d) => d.event.seq)).toEqual([1]);
  });
});

describe('persistChunk with guild state', () => {
  const guildCreate = () => record(envelope('GUILD_CREATE', { id: guild, name: 'g', channels: [{ id: channel, type: 0 }] }, { channel_id: undefined }));
  const channelCreate = (id: string) => record(envelope('CHANNEL_CREATE', { id, type: 0, guild_id: guild }, { channel_id: id }));

  it('applies guild-state events after the message writes and before anything is handed on, and names the guilds changed', async () => {
    const sink = new FakeSink();
    const state = new FakeGuildState(sink.calls);
    const records = [guildCreate(), create('100'), channelCreate('81384788765712399'), create('101')];
    const out = await persistChunk(records, context(sink, { guildState: state }));
    expect(sink.calls).toEqual(['create 100,101', 'state GUILD_CREATE,CHANNEL_CREATE']);
    expect(state.guilds.get(guild)?.channels.map((c) => c.id)).toEqual([channel, '81384788765712399']);
    expect(out.deliveries.map((d) => d.event.type)).toEqual(['GUILD_CREATE', 'MESSAGE_CREATE', 'CHANNEL_CREATE', 'MESSAGE_CREATE']);
    expect(out.stateChanges).toEqual([{ v: 1, kind: 'guild', guild_id: guild, channel_ids: [channel, '81384788765712399'], at: expect.any(Number) }]);
    expect(out.persisted.map((e) => e.type)).toContain('CHANNEL_CREATE');
  });

  it('dead-letters a malformed guild-state event with the reason and applies the rest', async () => {
    const sink = new FakeSink();
    const state = new FakeGuildState(sink.calls);
    const bad = record(envelope('CHANNEL_CREATE', { type: 0, name: 'no id' }));
    const records = [guildCreate(), bad, channelCreate('81384788765712400')];
    const out = await persistChunk(records, context(sink, { guildState: state }));
    expect(out.deadLetters.map((l) => [l.stage, l.source?.offset, l.reason])).toEqual([['fanout.persist', bad.offset, 'CHANNEL_CREATE: d.id is not a snowflake']]);
    expect(sink.calls).toEqual(['state GUILD_CREATE,CHANNEL_CREATE,CHANNEL_CREATE', 'state GUILD_CREATE,CHANNEL_CREATE']);
    expect(out.deliveries.map((d) => d.headers[SOURCE_OFFSET_HEADER])).toEqual([records[0]!.offset, records[2]!.offset]);
    expect(state.guilds.get(guild)?.channels).toHaveLength(2);
  });

  it('retries the state write while the store is unavailable, dead-lettering nothing', async () => {
    const sink = new FakeSink();
    const state = new FakeGuildState(sink.calls);
    state.failures = [new StoreUnavailableError('down'), new StoreUnavailableError('down')];
    const retries: Error[] = [];
    const out = await persistChunk([guildCreate()], context(sink, { guildState: state, retries }));
    expect({ retries: retries.length, deadLetters: out.deadLetters.length, delivered: out.deliveries.length, changes: out.stateChanges.length }).toEqual({ retries: 2, deadLetters: 0, delivered: 1, changes: 1 });
  });

  it('without a guild-state writer only delivers them', async () => {
    const out = await persistChunk([guildCreate()], context(new FakeSink()));
    expect([out.deliveries.length, out.stateChanges]).toEqual([1, []]);
  });
});

describe('waves', () => {
  it('is one wave when no message repeats', () => {
    const items = ['1', '2', '3'].map((id) => ({ op: { kind: 'create' as const, message: { id, channel_id: '9' } } }));
    expect(waves(items)).toHaveLength(1);
  });
});
