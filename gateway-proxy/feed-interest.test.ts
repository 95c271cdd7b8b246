import { describe, expect, it } from 'vitest';
import { serializeEnvelope } from '../core/events/envelope.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import type { ConsumedRecord } from '../core/kafka/types.ts';
import { messageEvent } from './edge.test-support.ts';
import { checkReplayRange, Interest } from './feed-interest.ts';
import { readFeedRecord, recordBytes } from './feed-record.ts';

describe('want/release counting', () => {
  it('counts a partition once per call, reports the first want and the last release, and checks a call before counting', () => {
    const interest = new Interest(4);
    expect(interest.want([1, 1, 2])).toEqual([1, 2]);
    expect(interest.want([1])).toEqual([]);
    expect(interest.release([1, 1])).toEqual([]);
    expect(interest.all()).toEqual([1, 2]);
    expect(() => interest.want([3, 4])).toThrow(RangeError);
    expect(() => interest.want([0.5])).toThrow(RangeError);
    expect(interest.wanted(3)).toBe(false);
    expect(() => interest.release([2, 3])).toThrow(/partition 3/);
    expect(interest.wanted(2)).toBe(true);
    expect(interest.release([1, 2])).toEqual([1, 2]);
    expect(interest.all()).toEqual([]);
  });

  it('refuses replay ranges that are not ranges', () => {
    expect(() => checkReplayRange(0, { offset: 5n, passed: -1n }, 4n, 2)).toThrow(/before its start/);
    expect(() => checkReplayRange(2, { offset: 0n, passed: -1n }, 1n, 2)).toThrow(RangeError);
    expect(() => checkReplayRange(0, { offset: -1n, passed: -1n }, 1n, 2)).toThrow(RangeError);
    expect(() => checkReplayRange(0, { offset: 0, passed: -1n } as never, 1n, 2)).toThrow(/bigints/);
    expect(() => checkReplayRange(0, { offset: 3n, passed: 7n }, 3n, 2)).not.toThrow();
  });
});

describe('the record rule the live feed and replays share', () => {
  const record = (value: Buffer | string | null, sourceOffset?: string): ConsumedRecord => ({
    offset: '0',
    key: Buffer.from('42'),
    value: value === null ? null : Buffer.from(value),
    headers: sourceOffset === undefined ? {} : { [SOURCE_OFFSET_HEADER]: Buffer.from(sourceOffset) },
    timestamp: '0',
  });
  const envelope = serializeEnvelope(messageEvent('42', 1));

  it('drops a redelivery by source offset before parsing, and tells an envelope from what is not one', () => {
    expect(readFeedRecord(record(envelope, '7'), 6n)).toMatchObject({ kind: 'event', sourceOffset: 7n, event: { id: 'test:42:1' } });
    expect(readFeedRecord(record(envelope, '7'), 7n)).toEqual({ kind: 'redelivery' });
    expect(readFeedRecord(record('{', '9'), 7n)).toMatchObject({ kind: 'invalid', sourceOffset: 9n });
    expect(readFeedRecord(record(envelope), -1n)).toMatchObject({ kind: 'invalid', sourceOffset: undefined, reason: expect.stringContaining(SOURCE_OFFSET_HEADER) });
    expect(readFeedRecord(record(envelope, '-3'), -1n)).toMatchObject({ kind: 'invalid', sourceOffset: undefined });
  });

  it('counts key, value and headers as the bytes read', () => {
    expect(recordBytes(record('abc', '12'))).toBe(2 + 3 + SOURCE_OFFSET_HEADER.length + 2);
    expect(recordBytes({ ...record(null), key: null })).toBe(0);
  });
});
