import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import { cachedGuildState, memoryGuildState, memoryStateChanges } from '../../store/index.ts';
import { registerApiRoutes } from './api-routes.ts';
import { memorySettings, memoryStore, snapshot } from './api.test-support.ts';

const guildA = '1300000000000000001';
const guildB = '1300000000000000002';
/** Listed in the token, unknown to the state: absent all the same. */
const guildGone = '1300000000000000003';
const nowhereGuild = '1300000000000000009';
const channelA = '1300000000000000011';
const channelB = '1300000000000000012';
const threadB = '1300000000000000014';
const nowhere = '1300000000000000013';
const msgA = '1300000000000000101';
const msgB = '1300000000000000102';

async function api({ open = false } = {}) {
  const tokens = createTokenSigner('routes-secret');
  const store = memoryStore({ [channelA]: [{ id: msgA, guild_id: guildA }], [channelB]: [{ id: msgB, guild_id: guildB }] });
  const b = snapshot(guildB, [channelB]);
  b.threads = [{ id: threadB, type: 11, name: 'a thread', parent_id: channelB }];
  const reader = memoryGuildState([
    { ...snapshot(guildA, [channelA]), member_count: 12, joined_at: '2024-01-01T00:00:00.000Z', large: false, members: [{ user: { id: '1', bot: true } }] },
    b,
  ]);
  const changes = memoryStateChanges();
  const state = cachedGuildState(reader, { changes, ttlMs: 600_000, max: 100 });
  const settings = memorySettings();
  const app = Fastify();
  await registerApiRoutes(app, { store, state, settings, deadlineMs: 1000, ...(open ? {} : { tokens }) });
  const token = await tokens.mint({ subject: 'reader', guilds: [guildA, guildGone], ttlSeconds: 60 });
  const all = await tokens.mint({ subject: 'root', guilds: '*', ttlSeconds: 60 });
  /** Status, headers but the clock and the request count, and body bytes: all a client can tell two answers apart by. */
  const seen = async (method: 'GET' | 'PATCH' | 'HEAD', url: string, { as = token, body }: { as?: string; body?: string } = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bot ${as}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: body } : {}),
    });
    // The clock and the rate-limit window's state (how many requests this test made to that URL) aside.
    const { date: _date, 'x-ratelimit-reset': _reset, 'x-ratelimit-reset-after': _resetAfter, 'x-ratelimit-remaining': _remaining, ...headers } = res.headers;
    return { status: res.statusCode, headers, body: res.body };
  };
  return { app, seen, all, settings, store, reader, changes };
}

describe('api routes: "not yours" and "absent" are one answer', () => {
  it('answers the same status, headers and bytes on every route', async () => {
    const { seen, store } = await api();
    const cases: [string, 'GET' | 'PATCH' | 'HEAD', string, string, string?][] = [
      ['channel', 'GET', `/api/v10/channels/${channelB}`, `/api/v10/channels/${nowhere}`],
      ['thread', 'GET', `/api/v10/channels/${threadB}`, `/api/v10/channels/${nowhere}`],
      ['guild', 'GET', `/api/v10/guilds/${guildB}`, `/api/v10/guilds/${nowhereGuild}`],
      ['guild in the token, unknown to the state', 'GET', `/api/v10/guilds/${guildB}`, `/api/v10/guilds/${guildGone}`],
      ['history page', 'GET', `/api/v10/channels/${channelB}/messages`, `/api/v10/channels/${nowhere}/messages`],
      ['history HEAD', 'HEAD', `/api/v10/channels/${channelB}/messages`, `/api/v10/channels/${nowhere}/messages`],
      ['single message', 'GET', `/api/v10/channels/${channelB}/messages/${msgB}`, `/api/v10/channels/${nowhere}/messages/${msgB}`],
      ['settings', 'GET', `/api/guildcast/v1/guilds/${guildB}/settings`, `/api/guildcast/v1/guilds/${nowhereGuild}/settings`],
      ['settings PATCH', 'PATCH', `/api/guildcast/v1/guilds/${guildB}/settings`, `/api/guildcast/v1/guilds/${nowhereGuild}/settings`, '{"prefix":"?"}'],
      ['settings PATCH, invalid body', 'PATCH', `/api/guildcast/v1/guilds/${guildB}/settings`, `/api/guildcast/v1/guilds/${nowhereGuild}/settings`, '{"prefix":""}'],
      ['settings PATCH, broken JSON', 'PATCH', `/api/guildcast/v1/guilds/${guildB}/settings`, `/api/guildcast/v1/guilds/${guildGone}/settings`, '{"prefix":'],
    ];
    for (const [what, method, theirs, absent, body] of cases) {
      const a = await seen(method, absent, body !== undefined ? { body } : {});
      const t = await seen(method, theirs, body !== undefined ? { body } : {});
      expect(a.status, what).toBe(404);
      expect(t, what).toEqual(a);
    }
    expect((await seen('GET', `/api/v10/channels/${nowhere}`)).body).toBe('{"message":"Unknown Channel","code":10003}');
    expect((await seen('GET', `/api/v10/guilds/${nowhereGuild}`)).body).toBe('{"message":"Unknown Guild","code":10004}');
    expect((await seen('GET', `/api/guildcast/v1/guilds/${nowhereGuild}/settings`)).body).toBe('{"message":"Unknown Guild","code":10004}');
    expect(store.reads).toBe(0);
  });

  it('answers 401 on every route without a valid token', async () => {
    const { app } = await api();
    for (const url of [`/api/v10/channels/${channelA}`, `/api/v10/guilds/${guildA}`, `/api/guildcast/v1/guilds/${guildA}/settings`]) {
      const res = await app.inject({ url, headers: { authorization: 'Bot nope' } });
      expect([res.statusCode, res.body], url).toEqual([401, '{"message":"401: Unauthorized","code":0}']);
    }
  });
});

describe('api routes: guild state', () => {
  it("serves the token's channel with its guild, and the guild as Discord's route does: roles, no channels or members", async () => {
    const { seen } = await api();
    const channel = await seen('GET', `/api/v10/channels/${channelA}`);
    expect([channel.status, JSON.parse(channel.body)]).toEqual([200, { id: channelA, type: 0, name: `channel ${channelA}`, guild_id: guildA }]);
    const guild = await seen('GET', `/api/v10/guilds/${guildA}`);
    expect(guild.status).toBe(200);
    expect(JSON.parse(guild.body)).toEqual({ id: guildA, name: `guild ${guildA}`, roles: [{ id: guildA, name: '@everyone', permissions: '0' }] });
  });

  it('lets a "*" token see every guild, a thread as a channel, and still answers unknown ids 404', async () => {
    const { seen, all } = await api();
    expect(JSON.parse((await seen('GET', `/api/v10/channels/${threadB}`, { as: all })).body)).toMatchObject({ id: threadB, guild_id: guildB, parent_id: channelB });
    expect((await seen('GET', `/api/v10/guilds/${guildB}`, { as: all })).status).toBe(200);
    expect((await seen('GET', `/api/v10/channels/${nowhere}`, { as: all })).status).toBe(404);
    expect((await seen('GET', `/api/v10/guilds/${nowhereGuild}`, { as: all })).status).toBe(404);
    // Beyond what the tables hold: nothing by that id, not a failure.
    expect((await seen('GET', '/api/v10/guilds/18446744073709551615', { as: all })).status).toBe(404);
  });

  it('answers 50035 for ids that are not snowflakes', async () => {
    const { seen } = await api();
    const res = await seen('GET', '/api/v10/channels/general');
    expect([res.status, JSON.parse(res.body)]).toEqual([400, { message: 'Invalid Form Body', code: 50035, errors: { channel_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "general" is not snowflake.' }] } } }]);
    expect((await seen('GET', '/api/guildcast/v1/guilds/x/settings')).status).toBe(400);
  });

  it('sees a change once its state-changes record arrives', async () => {
    const { seen, reader, changes } = await api();
    await seen('GET', `/api/v10/channels/${channelA}`);
    reader.put({ ...snapshot(guildA, [channelA]), name: 'renamed' });
    expect(JSON.parse((await seen('GET', `/api/v10/guilds/${guildA}`)).body).name).toBe(`guild ${guildA}`);
    changes.publish({ v: 1, kind: 'guild', guild_id: guildA, at: 1 });
    expect(JSON.parse((await seen('GET', `/api/v10/guilds/${guildA}`)).body).name).toBe('renamed');
  });

  it('serves everything without tokens when they are turned off', async () => {
    const { app } = await api({ open: true });
    expect((await app.inject(`/api/v10/guilds/${guildB}`)).statusCode).toBe(200);
    expect((await app.inject(`/api/v10/channels/${channelB}/messages`)).statusCode).toBe(200);
  });
});

describe('api routes: bot settings', () => {
  const url = `/api/guildcast/v1/guilds/${guildA}/settings`;

  it('answers the defaults, then a partial update merged into them', async () => {
    const { seen } = await api();
    expect(JSON.parse((await seen('GET', url)).body)).toEqual({ prefix: '!', language: 'en-US', welcome_channel_id: null, extra: {} });
    const patched = await seen('PATCH', url, { body: JSON.stringify({ prefix: '?', welcome_channel_id: channelA, extra: { greeting: 'hi' } }) });
    expect([patched.status, JSON.parse(patched.body)]).toEqual([200, { prefix: '?', language: 'en-US', welcome_channel_id: channelA, extra: { greeting: 'hi' } }]);
    await seen('PATCH', url, { body: '{"language":"de","extra":{"greeting":null,"n":1}}' });
    expect(JSON.parse((await seen('GET', url)).body)).toEqual({ prefix: '?', language: 'de', welcome_channel_id: channelA, extra: { n: 1 } });
  });

  it("refuses an invalid body with 50035 and Discord's errors tree, and writes nothing", async () => {
    const { seen, settings } = await api();
    const bad = await seen('PATCH', url, { body: JSON.stringify({ prefix: 'x'.repeat(33), language: 'not a language', welcome_channel_id: 'general', colour: 'red' }) });
    expect(bad.status).toBe(400);
    const body = JSON.parse(bad.body);
    expect([body.code, body.message]).toEqual([50035, 'Invalid Form Body']);
    expect(Object.keys(body.errors).sort()).toEqual(['colour', 'language', 'prefix', 'welcome_channel_id']);
    expect(body.errors.prefix._errors[0].code).toBe('BASE_TYPE_MAX_LENGTH');
    expect(body.errors.welcome_channel_id._errors[0].code).toBe('NUMBER_TYPE_COERCE');
    expect(settings.rows.size).toBe(0);
    const notObject = await seen('PATCH', url, { body: '[1,2]' });
    expect([notObject.status, JSON.parse(notObject.body).code, JSON.parse(notObject.body).errors._errors.length]).toEqual([400, 50035, 1]);
    const broken = await seen('PATCH', url, { body: '{"prefix":' });
    expect([broken.status, JSON.parse(broken.body)]).toEqual([400, { message: 'The request body contains invalid JSON.', code: 50109 }]);
    const tooMuch = await seen('PATCH', url, { body: JSON.stringify({ extra: { big: 'x'.repeat(9_000) } }) });
    expect([tooMuch.status, Object.keys(JSON.parse(tooMuch.body).errors)]).toEqual([400, ['extra']]);
    expect(settings.rows.size).toBe(0);
  });
});
