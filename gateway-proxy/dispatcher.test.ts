import { describe, expect, it } from 'vitest';
import { Dispatcher } from './dispatcher.ts';
import { Session } from './session.ts';
import { prepareEvent } from './serialize.ts';
import { writeFrame, frameLength, type SequencedFrame } from '../core/discord/gateway/frames.ts';
import { GatewayIntentBits } from '../core/discord/protocol.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';

const guild = (n: bigint) => String(n << 22n); // shard (n % count)
const event = (guildId: string | undefined, type = 'MESSAGE_CREATE', d: unknown = { content: 'hi', embeds: [1] }): EventEnvelope => ({
  v: 1, id: 'e', type, guild_id: guildId, source: 'http', received_at: 1, trace_id: 't', d,
});
const text = (frame: SequencedFrame) => {
  const out = Buffer.alloc(frameLength(frame));
  writeFrame(frame, out, 0);
  return JSON.parse(out.toString());
};

function session(guilds: '*' | string[], shard: [number, number] = [0, 1], intents = GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent) {
  const grant = { subject: 's', guilds: guilds === '*' ? ('*' as const) : new Set(guilds), expiresAt: new Date() };
  const s = new Session(grant, shard, intents, 100, () => {});
  const got: SequencedFrame[] = [];
  s.attach({ send: (f) => got.push(f), terminate: () => {} });
  return { s, got };
}

describe('Dispatcher', () => {
  it('delivers only to sessions whose token and shard allow the guild', () => {
    const dispatcher = new Dispatcher();
    const a = session([guild(10n), guild(11n)]);
    const shard0 = session([guild(10n), guild(11n)], [0, 2]);
    const any1 = session('*', [1, 2]);
    const any = session('*');
    for (const x of [a, shard0, any1, any]) dispatcher.add(x.s);

    expect(dispatcher.dispatch(prepareEvent(event(guild(10n))))).toBe(3); // a, shard0, any
    expect(dispatcher.dispatch(prepareEvent(event(guild(11n))))).toBe(3); // a, any1, any
    expect(dispatcher.dispatch(prepareEvent(event(guild(12n))))).toBe(1); // any (12 is on shard 0 of 2, which any1 is not)
    expect(dispatcher.dispatch(prepareEvent(event(undefined, 'USER_UPDATE', {})))).toBe(1); // no guild: shard 0 of the wildcard sessions
    expect(a.got.map((f) => f.seq)).toEqual([1, 2]);
    expect(shard0.got).toHaveLength(1);
    expect(dispatcher.listedGuilds(shard0.s)).toEqual([guild(10n)]);

    dispatcher.remove(a.s);
    dispatcher.remove(any.s);
    expect(dispatcher.dispatch(prepareEvent(event(guild(11n))))).toBe(1);
  });

  it('filters by intent and blanks message content without MESSAGE_CONTENT, sharing the serialized body', () => {
    const dispatcher = new Dispatcher();
    const full = session('*');
    const blind = session('*', [0, 1], GatewayIntentBits.GuildMessages);
    const other = session('*');
    const none = session('*', [0, 1], GatewayIntentBits.Guilds);
    for (const x of [full, blind, other, none]) dispatcher.add(x.s);
    dispatcher.dispatch(prepareEvent(event(guild(1n))));
    expect(none.got).toHaveLength(0);
    expect(text(full.got[0]!)).toEqual({ t: 'MESSAGE_CREATE', s: 1, op: 0, d: { content: 'hi', embeds: [1] } });
    expect(text(blind.got[0]!).d).toEqual({ content: '', embeds: [] });
    expect(full.got[0]!.body).toBe(other.got[0]!.body); // serialized once, not per session
  });
});

describe('Dispatcher and the upstream connection\'s own events', () => {
  it('drops READY, RESUMED and the other events of ingest\'s own connection, already on the topic, for every session', () => {
    const dispatcher = new Dispatcher();
    const any = session('*', [0, 1], 0xffffff);
    const listed = session([guild(1n)], [0, 1], 0xffffff);
    for (const x of [any, listed]) dispatcher.add(x.s);
    const leaks = [
      event(undefined, 'READY', { session_id: 'bot-session', resume_gateway_url: 'wss://gateway.discord.gg' }),
      event(undefined, 'RESUMED', null),
      event(undefined, 'RATE_LIMITED', { opcode: 8, retry_after: 1 }),
      event(guild(1n), 'VOICE_SERVER_UPDATE', { token: 'voice-secret', guild_id: guild(1n), endpoint: 'x' }),
    ];
    const delivered = leaks.map((e) => dispatcher.dispatch(prepareEvent(e)));
    expect({ delivered, any: any.got.length, listed: listed.got.length }).toEqual({ delivered: [0, 0, 0, 0], any: 0, listed: 0 });
    expect(dispatcher.dispatch(prepareEvent(event(undefined, 'USER_UPDATE', {})))).toBe(1); // other guild-less events still flow
  });
});

describe('Session', () => {
  it('keeps dispatching into the replay buffer while detached and replays the gap on resume', () => {
    const { s, got } = session('*');
    const sink = { send: (f: SequencedFrame) => got.push(f), terminate: () => {} };
    s.attach(sink);
    const body = prepareEvent(event(guild(1n))).body;
    s.dispatch(body);
    s.detach(sink);
    s.dispatch(body);
    s.dispatch(body);
    expect(got).toHaveLength(1);
    expect(s.framesAfter(1)!.map((f) => f.seq)).toEqual([2, 3]);
    expect(s.framesAfter(4)).toBeNull(); // from the future
  });

  it('gives up on a detached session that missed more than its buffer holds', () => {
    let overflowed = false;
    const s = new Session({ subject: 's', guilds: '*', expiresAt: new Date() }, [0, 1], 0, 3, () => (overflowed = true));
    const body = prepareEvent(event(guild(1n))).body;
    for (let i = 0; i < 4; i++) s.dispatch(body);
    expect(overflowed).toBe(true);
    expect(s.framesAfter(0)).toBeNull();
  });
});
