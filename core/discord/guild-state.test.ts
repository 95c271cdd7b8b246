import { describe, expect, it } from 'vitest';
import {
  applyGuildEvent,
  changedChannelIds,
  channelIdsOf,
  deletedChannelIds,
  guildEventProblem,
  isGuildStateEvent,
  type GuildEvent,
  type GuildSnapshot,
} from './guild-state.ts';

const G = '81384788765712384';
const bot = { user: { id: '900', username: 'me', bot: true }, roles: [] };
const human = { user: { id: '901', username: 'human' }, roles: [] };
const text = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 0, name: `c${id}`, ...extra });
const thread = (id: string, parent: string, archived = false) => ({ id, type: 11, parent_id: parent, thread_metadata: { archived } });
const ev = (type: string, d: unknown, guild_id = G): GuildEvent => ({ type, guild_id, d });
/** Without the envelope's guild id (an event whose payload alone names its guild). */
const bare = (type: string, d: unknown): GuildEvent => ({ type, d });

function guildCreate(extra: Record<string, unknown> = {}) {
  return ev('GUILD_CREATE', {
    id: G,
    name: 'guild',
    unavailable: false,
    channels: [text('10'), text('11')],
    threads: [thread('20', '10'), thread('21', '11', true)],
    roles: [{ id: G, name: '@everyone' }],
    members: [bot, human],
    presences: [{ user: { id: '901' }, status: 'online' }],
    voice_states: [],
    ...extra,
  });
}

/** Applies events in order, treating `undefined` as "unchanged". */
function reduce(events: GuildEvent[], start?: GuildSnapshot): GuildSnapshot | null | undefined {
  let state: GuildSnapshot | null | undefined = start;
  for (const event of events) {
    const next = applyGuildEvent(state ?? undefined, event);
    if (next !== undefined) state = next;
  }
  return state;
}

describe('applyGuildEvent', () => {
  it('keeps GUILD_CREATE as the snapshot: bot members only, active threads only, no presences', () => {
    const s = applyGuildEvent(undefined, guildCreate())!;
    expect(s.id).toBe(G);
    expect(s.name).toBe('guild');
    expect(s.members).toEqual([bot]);
    expect(s.threads.map((t) => t.id)).toEqual(['20']);
    expect(['presences', 'voice_states', 'unavailable'].filter((k) => k in s)).toEqual([]);
    expect(channelIdsOf(s)).toEqual(['10', '11', '20']);
  });

  it('applies channel, thread, role and member events, and shares untouched entries', () => {
    const s0 = applyGuildEvent(undefined, guildCreate())!;
    const s1 = applyGuildEvent(s0, ev('CHANNEL_CREATE', text('12', { guild_id: G })))!;
    expect(s1.channels.map((c) => c.id)).toEqual(['10', '11', '12']);
    expect(s1.channels[0]).toBe(s0.channels[0]);
    expect(changedChannelIds(s0, s1)).toEqual(['12']);
    const s2 = applyGuildEvent(s1, ev('CHANNEL_UPDATE', text('11', { name: 'renamed' })))!;
    expect(s2.channels.map((c) => c.name)).toEqual(['c10', 'renamed', 'c12']);
    const s3 = applyGuildEvent(s2, ev('THREAD_CREATE', { ...thread('22', '12'), newly_created: true }))!;
    expect(s3.threads.map((t) => [t.id, 'newly_created' in t])).toEqual([['20', false], ['22', false]]);
    const s4 = applyGuildEvent(s3, ev('THREAD_UPDATE', thread('20', '10', true)))!;
    expect(s4.threads.map((t) => t.id)).toEqual(['22']); // archived: no longer active
    const s5 = applyGuildEvent(s4, ev('GUILD_ROLE_CREATE', { guild_id: G, role: { id: '30', name: 'mods' } }))!;
    const s6 = applyGuildEvent(s5, ev('GUILD_ROLE_UPDATE', { guild_id: G, role: { id: '30', name: 'admins' } }))!;
    expect(s6.roles.map((r) => r.name)).toEqual(['@everyone', 'admins']);
    const s7 = applyGuildEvent(s6, ev('GUILD_ROLE_DELETE', { guild_id: G, role_id: G }))!;
    expect(s7.roles.map((r) => r.id)).toEqual(['30']);
    const other = { user: { id: '902', bot: true }, roles: [] };
    const s8 = applyGuildEvent(s7, ev('GUILD_MEMBER_ADD', { ...other, guild_id: G }))!;
    expect(s8.members).toEqual([bot, other]); // without the event's guild_id
    expect(applyGuildEvent(s8, ev('GUILD_MEMBER_ADD', { ...human, guild_id: G }))).toBeUndefined();
    const s9 = applyGuildEvent(s8, ev('GUILD_MEMBER_UPDATE', { guild_id: G, user: bot.user, roles: ['30'], nick: 'n' }))!;
    expect(s9.members[0]).toEqual({ user: bot.user, roles: ['30'], nick: 'n' });
    const s10 = applyGuildEvent(s9, ev('GUILD_MEMBER_REMOVE', { guild_id: G, user: { id: '902' } }))!;
    expect(s10.members.map((m) => (m.user as { id: string }).id)).toEqual(['900']);
    expect(s0.channels).toHaveLength(2); // never modified in place
  });

  it('merges GUILD_UPDATE without losing channels, threads or members', () => {
    const s0 = applyGuildEvent(undefined, guildCreate())!;
    const s1 = applyGuildEvent(s0, ev('GUILD_UPDATE', { id: G, name: 'new', roles: [{ id: G, name: 'everyone' }], channels: [] }))!;
    expect([s1.name, s1.channels.length, s1.threads.length, s1.members.length, s1.roles[0]!.name]).toEqual(['new', 2, 1, 1, 'everyone']);
  });

  it('deletes a channel with its threads; GUILD_DELETE without unavailable is the guild gone', () => {
    const s0 = applyGuildEvent(undefined, guildCreate())!;
    const s1 = applyGuildEvent(s0, ev('CHANNEL_DELETE', text('10')))!;
    expect(channelIdsOf(s1)).toEqual(['11']);
    expect(deletedChannelIds(s0, s1, ev('CHANNEL_DELETE', text('10'))).sort()).toEqual(['10', '20']);
    expect(applyGuildEvent(s1, ev('CHANNEL_DELETE', text('10')))).toBeUndefined();
    expect(applyGuildEvent(s1, ev('GUILD_DELETE', { id: G, unavailable: true }))).toBeUndefined();
    expect(applyGuildEvent(s1, ev('GUILD_DELETE', { id: G }))).toBeNull();
    expect(deletedChannelIds(s1, null, ev('GUILD_DELETE', { id: G }))).toEqual(['11']);
  });

  it('keeps the lookup of a thread that was only archived, and syncs thread lists per parent', () => {
    const s0 = applyGuildEvent(undefined, guildCreate())!;
    const archive = ev('THREAD_UPDATE', thread('20', '10', true));
    const s1 = applyGuildEvent(s0, archive)!;
    expect(deletedChannelIds(s0, s1, archive)).toEqual([]);
    expect(changedChannelIds(s0, s1)).toEqual(['20']);
    const s2 = reduce([ev('THREAD_CREATE', thread('22', '11')), ev('THREAD_CREATE', thread('23', '10'))], s0)!;
    const sync = ev('THREAD_LIST_SYNC', { guild_id: G, channel_ids: ['10'], threads: [thread('24', '10')], members: [] });
    expect((applyGuildEvent(s2, sync) as GuildSnapshot).threads.map((t) => t.id)).toEqual(['22', '24']);
    const all = ev('THREAD_LIST_SYNC', { guild_id: G, threads: [thread('25', '11')], members: [] });
    expect((applyGuildEvent(s2, all) as GuildSnapshot).threads.map((t) => t.id)).toEqual(['25']);
  });

  it('changes nothing for unknown guilds, outages, malformed payloads and other events', () => {
    const s0 = applyGuildEvent(undefined, guildCreate())!;
    expect(applyGuildEvent(undefined, ev('CHANNEL_CREATE', text('12')))).toBeUndefined();
    expect(applyGuildEvent(undefined, ev('GUILD_CREATE', { id: G, unavailable: true }))).toBeUndefined();
    expect(applyGuildEvent(s0, ev('MESSAGE_CREATE', { id: '1', channel_id: '10' }))).toBeUndefined();
    for (const d of [null, 'x', 7, [], {}])
      for (const type of ['GUILD_CREATE', 'CHANNEL_CREATE', 'GUILD_ROLE_CREATE', 'GUILD_MEMBER_ADD', 'THREAD_LIST_SYNC'])
        expect(applyGuildEvent(s0, ev(type, d)), `${type} ${JSON.stringify(d)}`).toBeUndefined();
    expect(applyGuildEvent(s0, ev('CHANNEL_CREATE', text('12'), '175928847299117063'))).toBeUndefined(); // another guild's event
    expect(applyGuildEvent(undefined, ev('GUILD_CREATE', { id: '1' }))).toBeUndefined(); // id is not the event's guild
  });

  it('converges when events the snapshot already includes are applied again', () => {
    const events = [
      guildCreate(),
      ev('CHANNEL_CREATE', text('12')),
      ev('THREAD_CREATE', thread('22', '12')),
      ev('GUILD_ROLE_CREATE', { guild_id: G, role: { id: '30' } }),
      ev('CHANNEL_DELETE', text('11')),
      ev('GUILD_MEMBER_ADD', { guild_id: G, user: { id: '903', bot: true } }),
    ];
    const once = reduce(events);
    for (let from = 1; from < events.length; from++) expect(reduce(events.slice(from), reduce(events) as GuildSnapshot), `from ${from}`).toEqual(once);
  });

  it('takes the guild from the payload when the envelope has none', () => {
    expect(applyGuildEvent(undefined, bare('GUILD_CREATE', { id: G, channels: [] }))?.id).toBe(G);
    const s0 = applyGuildEvent(undefined, guildCreate())!;
    expect(applyGuildEvent(s0, bare('CHANNEL_CREATE', text('12', { guild_id: G })))?.channels).toHaveLength(3);
  });
});

describe('guildEventProblem and isGuildStateEvent', () => {
  it('names what the store must refuse', () => {
    expect(guildEventProblem(guildCreate())).toBeUndefined();
    expect(guildEventProblem(ev('CHANNEL_CREATE', 'x'))).toMatch(/not an object/);
    expect(guildEventProblem(ev('CHANNEL_CREATE', { name: 'no id' }))).toMatch(/d.id/);
    expect(guildEventProblem(bare('CHANNEL_CREATE', text('12')))).toMatch(/no guild id/);
    expect(guildEventProblem(ev('GUILD_ROLE_CREATE', { role: {} }))).toMatch(/role.id/);
    expect(guildEventProblem(ev('GUILD_MEMBER_ADD', { user: {} }))).toMatch(/user.id/);
    expect(guildEventProblem(ev('GUILD_CREATE', { id: G, channels: [{ name: 'x' }] }))).toMatch(/d.channels/);
    expect(guildEventProblem(ev('GUILD_CREATE', { id: '5' }))).toMatch(/not the event's guild/);
  });

  it('knows the guild-state dispatches', () => {
    expect(['GUILD_CREATE', 'THREAD_LIST_SYNC', 'GUILD_MEMBER_REMOVE'].map(isGuildStateEvent)).toEqual([true, true, true]);
    expect(['MESSAGE_CREATE', 'TYPING_START', 'READY'].map(isGuildStateEvent)).toEqual([false, false, false]);
  });
});
