import { describe, expect, it } from 'vitest';
import { EnvelopeError, parseEnvelope, routingKey, serializeEnvelope, type EventEnvelope } from './envelope.ts';

const event: EventEnvelope = {
  v: 1,
  id: 'gw:0:abc:1',
  type: 'MESSAGE_CREATE',
  guild_id: '81384788765712384',
  channel_id: '81384788765712385',
  source: 'gateway',
  shard: 0,
  session_id: 'abc',
  seq: 1,
  received_at: 1_700_000_000_000,
  trace_id: 't1',
  d: { content: 'hi' },
};

describe('event envelope', () => {
  it('round-trips', () => {
    expect(parseEnvelope(serializeEnvelope(event))).toEqual(event);
  });

  it('explains what is wrong', () => {
    expect(() => parseEnvelope(Buffer.from('{nope'))).toThrow(/value is not JSON/);
    expect(() => parseEnvelope(null)).toThrow(EnvelopeError);
    expect(() => parseEnvelope(JSON.stringify({ ...event, guild_id: 123 }))).toThrow(/guild_id/);
    expect(() => parseEnvelope(JSON.stringify({ ...event, type: 'lower' }))).toThrow(/type: an upper-case dispatch name/);
    expect(() => parseEnvelope(JSON.stringify({ ...event, v: 2 }))).toThrow(/v:/);
    // 20 digits but above 2^64 - 1: not a snowflake, though it looks like one.
    expect(() => parseEnvelope(JSON.stringify({ ...event, guild_id: '99999999999999999999' }))).toThrow(/guild_id: a decimal snowflake/);
  });

  it('routes by guild, then channel', () => {
    expect(routingKey(event)).toBe(event.guild_id);
    expect(routingKey({ channel_id: '5' })).toBe('5');
    expect(routingKey({})).toBeUndefined();
  });
});
