import { describe, expect, it } from 'vitest';
import { parseEnvelope, serializeEnvelope } from '../core/events/envelope.ts';
import { envelopeFromDispatch, traceIdSource } from './envelope.ts';

const origin = { shard: 2, sessionId: 'abc123' };
const message = { id: '1300000000000000001', channel_id: '1200000000000000002', guild_id: '1100000000000000003', author: { id: '1000000000000000004' }, content: 'hi' };

describe('envelopeFromDispatch', () => {
  it('builds a v1 envelope keyed by guild, with the gateway position as its id', () => {
    const built = envelopeFromDispatch({ t: 'MESSAGE_CREATE', s: 42, d: message }, origin, 1_700_000_000_000, 'trace-1');
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.key).toBe(message.guild_id);
    expect(built.envelope).toMatchObject({ v: 1, id: 'gw:2:abc123:42', type: 'MESSAGE_CREATE', guild_id: message.guild_id, channel_id: message.channel_id, source: 'gateway', shard: 2, session_id: 'abc123', seq: 42, received_at: 1_700_000_000_000, trace_id: 'trace-1', d: message });
    expect(parseEnvelope(serializeEnvelope(built.envelope))).toEqual(built.envelope);
  });

  it('keys events without a guild by channel, and ones with neither by nothing', () => {
    const dm = envelopeFromDispatch({ t: 'MESSAGE_CREATE', s: 1, d: { ...message, guild_id: undefined } }, origin, 1, 't');
    expect(dm.ok && dm.key).toBe(message.channel_id);
    const presence = envelopeFromDispatch({ t: 'PRESENCE_UPDATE', s: 2, d: { user: { id: '1000000000000000004' } } }, origin, 1, 't');
    expect(presence.ok && presence.key).toBeUndefined();
  });

  it('takes the guild of GUILD_* and the channel of CHANNEL_* from their own id', () => {
    const guild = envelopeFromDispatch({ t: 'GUILD_CREATE', s: 1, d: { id: '1100000000000000003', name: 'g' } }, origin, 1, 't');
    expect(guild.ok && guild.envelope.guild_id).toBe('1100000000000000003');
    const channel = envelopeFromDispatch({ t: 'CHANNEL_UPDATE', s: 1, d: { id: '1200000000000000002', guild_id: '1100000000000000003' } }, origin, 1, 't');
    expect(channel.ok && [channel.envelope.guild_id, channel.envelope.channel_id]).toEqual(['1100000000000000003', '1200000000000000002']);
  });

  it.each([
    ['MESSAGE_CREATE without id', { t: 'MESSAGE_CREATE', s: 1, d: { ...message, id: undefined } }, /MESSAGE_CREATE: d\.id/],
    ['MESSAGE_CREATE with a numeric channel id', { t: 'MESSAGE_CREATE', s: 1, d: { ...message, channel_id: 12 } }, /d\.channel_id/],
    ['a non-object d', { t: 'TYPING_START', s: 1, d: 'typing' }, /d is not an object/],
    ['a bad guild id on an unknown type', { t: 'SOMETHING_NEW', s: 1, d: { guild_id: 'x' } }, /guild id "x" is not a snowflake/],
    ['a lower-case name', { t: 'message_create', s: 1, d: message }, /not an upper-case event name/],
  ])('rejects %s with a reason', (_name, dispatch, reason) => {
    const built = envelopeFromDispatch(dispatch as never, origin, 1, 'trace-9');
    expect(built.ok === false && !built.internal).toBe(true);
    if (built.ok || built.internal) return;
    expect(built.reason).toMatch(reason);
    expect(built.traceId).toBe('trace-9');
  });

  it('keeps the valid routing key of a rejected dispatch for its dead letter', () => {
    const built = envelopeFromDispatch({ t: 'MESSAGE_CREATE', s: 1, d: { ...message, id: undefined } }, origin, 1, 't');
    expect(!built.ok && !built.internal && built.key).toBe(message.guild_id);
  });
});

describe('ingest\'s own connection events', () => {
  // READY carries the bot's real session and resume URL: a client that adopted them died resuming there.
  it.each([
    ['READY', { v: 10, session_id: 'bot-session', resume_gateway_url: 'wss://gateway-us-east1-b.discord.gg', user: { id: '1000000000000000004' }, guilds: [] }],
    ['RESUMED', {}],
    ['RATE_LIMITED', { opcode: 8, retry_after: 1.5, meta: { guild_id: '1100000000000000003' } }],
    ['VOICE_SERVER_UPDATE', { token: 'voice-secret', guild_id: '1100000000000000003', endpoint: 'x.discord.media' }],
  ])('never turns %s into an event, and never dead-letters it', (t, d) => {
    const built = envelopeFromDispatch({ t, s: 1, d }, origin, 1, 't');
    expect(built).toEqual({ ok: false, internal: true, type: t });
    expect(JSON.stringify(built)).not.toContain('bot-session');
  });
});

describe('traceIdSource', () => {
  it('never repeats within a process', () => {
    const next = traceIdSource();
    const ids = new Set(Array.from({ length: 10_000 }, next));
    expect(ids.size).toBe(10_000);
  });
});
