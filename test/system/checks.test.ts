import { describe, expect, it } from 'vitest';
import { serializeEnvelope } from '../../core/events/envelope.ts';
import { SOURCE_OFFSET_HEADER } from '../../core/kafka/headers.ts';
import { applyRedeliveryRule, compareStore, compareStream } from './checks.ts';
import type { SentMessage } from './pipeline.ts';

/** The system tests pass only if these checks can fail: each kind of fault is counted. */
const sent: SentMessage[] = [
  { id: '100', channelId: 'a', guildId: 'g', content: 'one', shard: 0, sessionId: 's', seq: 1 },
  { id: '101', channelId: 'b', guildId: 'g', content: 'two', shard: 0, sessionId: 's', seq: 2 },
  { id: '102', channelId: 'a', guildId: 'g', content: 'three', shard: 0, sessionId: 's', seq: 3 },
  { id: '103', channelId: 'a', guildId: 'g', content: 'four', shard: 0, sessionId: 's', seq: 4 },
];
const at = (...ids: string[]) => ids.map((id) => ({ id, channelId: sent.find((m) => m.id === id)?.channelId ?? 'a' }));

describe('stream check', () => {
  it('counts nothing for every message once, in order per channel (channels may interleave)', () => {
    expect(compareStream(sent, at('101', '100', '102', '103'))).toEqual({ missing: 0, duplicated: 0, outOfOrder: 0, unexpected: 0, missingIds: [] });
  });

  it('counts missing, duplicated, out of order and unexpected messages', () => {
    expect(compareStream(sent, [...at('100', '103', '102', '100'), { id: '999', channelId: 'a' }])).toEqual({
      missing: 1,
      duplicated: 1,
      outOfOrder: 1,
      unexpected: 1,
      missingIds: ['101'],
    });
  });
});

describe('store check', () => {
  it('counts missing rows, rows whose content or channel differ, and rows never sent', () => {
    const stored = new Map([
      ['100', { channelId: 'a', content: 'one' }],
      ['101', { channelId: 'b', content: 'changed' }],
      ['102', { channelId: 'b', content: 'three' }],
      ['555', { channelId: 'a', content: 'stray' }],
    ]);
    expect(compareStore(sent, stored)).toEqual({ missing: 1, contentMismatch: 2, unexpected: 1 });
  });
});

describe('deliveries: the edge\'s redelivery rule', () => {
  const record = (partition: number, offset: number, sourceOffset: number, id: string, type = 'MESSAGE_CREATE') => ({
    partition,
    offset: String(offset),
    key: null,
    headers: { [SOURCE_OFFSET_HEADER]: Buffer.from(String(sourceOffset)) },
    value: serializeEnvelope({ v: 1, id: `gw:0:s:${id}`, type, source: 'gateway', received_at: 0, trace_id: 't', d: { id, channel_id: 'a' } }),
  });

  it('drops records at or below a source offset already passed on their partition, per partition, in offset order', () => {
    const { delivered, redeliveries } = applyRedeliveryRule([
      record(0, 2, 11, '102'),
      record(0, 0, 10, '100'),
      record(0, 1, 10, '100'), // a retried send: the same source record again
      record(1, 0, 10, '101'), // another partition has its own offsets
      record(0, 3, 12, '103', 'TYPING_START'),
    ]);
    expect(redeliveries).toBe(1);
    expect(delivered.map((d) => d.id)).toEqual(['100', '102', '101']);
  });

  it('keeps a duplicate that came from a new source record (a replayed event): the stream check counts it', () => {
    const { delivered } = applyRedeliveryRule([record(0, 0, 10, '100'), record(0, 1, 11, '100')]);
    expect(compareStream(sent, delivered).duplicated).toBe(1);
  });
});
