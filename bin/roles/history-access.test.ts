import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import { cachedGuildState, memoryGuildState, memoryStateChanges, StoreUnavailableError } from '../../store/index.ts';
import { memoryStore, snapshot } from './api.test-support.ts';
import { historyAccess } from './history-access.ts';

const guildA = '81384788765712384';
const guildB = '175928847299117063';
const channelA = '81384788765712385';
/** A channel of guild A nobody wrote in yet. */
const quietA = '81384788765712386';
const channelB = '175928847299117064';
const quietB = '175928847299117065';
/** Never written to: to the store it is the same as a channel that does not exist. */
const nowhere = '175928847299117999';
const idsA = ['81384788765712400', '81384788765712401', '81384788765712402'];
const idsB = ['175928847299117100', '175928847299117101', '175928847299117102'];

async function api() {
  const tokens = createTokenSigner('test-secret');
  const store = memoryStore({
    [channelA]: idsA.map((id) => ({ id, guild_id: guildA })),
    [channelB]: idsB.map((id) => ({ id, guild_id: guildB })),
  });
  const reader = memoryGuildState([snapshot(guildA, [channelA, quietA]), snapshot(guildB, [channelB, quietB])]);
  const state = cachedGuildState(reader, { changes: memoryStateChanges(), ttlMs: 600_000, max: 100 });
  const app = Fastify();
  await app.register(historyAccess, { tokens, store, state, prefix: '/api/v10' });
  const only = (guilds: '*' | string[]) => tokens.mint({ subject: 'reader', guilds, ttlSeconds: 60 });
  return { app, only, store, reader };
}

/** Everything a client can see of an answer but the clock. */
async function seen(app: Awaited<ReturnType<typeof api>>['app'], url: string, token: string, method: 'GET' | 'HEAD' = 'GET') {
  const res = await app.inject({ method, url: `/api/v10${url}`, headers: { authorization: `Bot ${token}` } });
  const { date: _date, ...headers } = res.headers;
  return { status: res.statusCode, headers, body: res.body };
}

describe('history behind guildcast tokens', () => {
  it('answers 401 without a token or with a bad one', async () => {
    const { app } = await api();
    expect((await app.inject(`/api/v10/channels/${channelA}/messages`)).statusCode).toBe(401);
    const forged = await createTokenSigner('other-secret').mint({ subject: 'x', guilds: '*', ttlSeconds: 60 });
    const res = await app.inject({ url: `/api/v10/channels/${channelA}/messages`, headers: { authorization: `Bot ${forged}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: '401: Unauthorized', code: 0 });
  });

  it('reads the token from the Authorization header as every guildcast route does: Bot, Bearer or bare', async () => {
    const { app, only } = await api();
    const token = await only([guildA]);
    const url = `/api/v10/channels/${channelA}/messages`;
    for (const authorization of [`Bot ${token}`, `Bearer ${token}`, `bot ${token}`, token])
      expect((await app.inject({ url, headers: { authorization } })).statusCode, authorization.slice(0, 7)).toBe(200);
    for (const authorization of [`Basic ${token}`, `Bot ${token} extra`]) {
      const res = await app.inject({ url, headers: { authorization } });
      expect(res.statusCode).toBe(401);
      expect(res.body).toBe('{"message":"401: Unauthorized","code":0}');
    }
  });

  it("serves the token's guilds: pages, past-the-end pages, one message, an unknown message", async () => {
    const { app, only } = await api();
    const token = await only([guildA]);
    const mine = await seen(app, `/channels/${channelA}/messages`, token);
    expect(mine.status).toBe(200);
    expect(JSON.parse(mine.body).map((m: { id: string }) => m.id)).toEqual([...idsA].reverse());
    // A client paging back to the start of its own channel gets the empty page it expects.
    const end = await seen(app, `/channels/${channelA}/messages?before=${idsA[0]}`, token);
    expect([end.status, end.body]).toEqual([200, '[]']);
    const one = await seen(app, `/channels/${channelA}/messages/${idsA[1]}`, token);
    expect([one.status, JSON.parse(one.body).id]).toEqual([200, idsA[1]]);
    const missing = await seen(app, `/channels/${channelA}/messages/${idsA[0]}9`, token);
    expect([missing.status, JSON.parse(missing.body)]).toEqual([404, { message: 'Unknown Message', code: 10008 }]);
  });

  it('serves an own channel without any message as the empty channel it is', async () => {
    const { app, only } = await api();
    const token = await only([guildA]);
    const quiet = await seen(app, `/channels/${quietA}/messages`, token);
    expect([quiet.status, quiet.body]).toEqual([200, '[]']);
    const missing = await seen(app, `/channels/${quietA}/messages/${idsA[0]}`, token);
    expect([missing.status, JSON.parse(missing.body)]).toEqual([404, { message: 'Unknown Message', code: 10008 }]);
  });

  it('answers a channel of another guild exactly as a channel that does not exist, without reading a message', async () => {
    const { app, only, store } = await api();
    const token = await only([guildA]);
    const absent = await seen(app, `/channels/${nowhere}/messages`, token);
    expect([absent.status, JSON.parse(absent.body)]).toEqual([404, { message: 'Unknown Channel', code: 10003 }]);
    for (const url of [
      `/channels/${channelB}/messages`,
      // An empty page of another guild's channel must not read as "exists, nothing here".
      `/channels/${channelB}/messages?after=${idsB[2]}`,
      `/channels/${channelB}/messages?limit=1&before=${idsB[0]}`,
      `/channels/${quietB}/messages`,
      `/channels/${nowhere}/messages?before=${idsB[0]}`,
    ])
      expect(await seen(app, url, token), url).toEqual(absent);
    expect(await seen(app, `/channels/${channelB}/messages`, token, 'HEAD')).toEqual(await seen(app, `/channels/${nowhere}/messages`, token, 'HEAD'));
    expect(store.reads).toBe(0);
  });

  it("answers another guild's message, present or not, exactly as a message of a channel that does not exist", async () => {
    const { app, only, store } = await api();
    const token = await only([guildA]);
    const absent = await seen(app, `/channels/${nowhere}/messages/${idsB[1]}`, token);
    expect(absent.status).toBe(404);
    expect(await seen(app, `/channels/${channelB}/messages/${idsB[1]}`, token)).toEqual(absent);
    expect(await seen(app, `/channels/${channelB}/messages/${idsB[1]}9`, token)).toEqual(absent);
    expect(await seen(app, `/channels/${nowhere}/messages`, token)).toEqual(absent);
    expect(store.reads).toBe(0);
  });

  it('lets a "*" token read every guild and tells it what does not exist, as before', async () => {
    const { app, only } = await api();
    const all = await only('*');
    const theirs = await seen(app, `/channels/${channelB}/messages`, all);
    expect([theirs.status, JSON.parse(theirs.body).length]).toEqual([200, 3]);
    const absent = await seen(app, `/channels/${nowhere}/messages`, all);
    expect([absent.status, absent.body]).toEqual([200, '[]']);
    const missing = await seen(app, `/channels/${channelB}/messages/${idsB[0]}9`, all);
    expect([missing.status, JSON.parse(missing.body)]).toEqual([404, { message: 'Unknown Message', code: 10008 }]);
  });

  it('still answers 50035 for an id that is not a snowflake, whoever asks', async () => {
    const { app, only } = await api();
    const res = await seen(app, '/channels/general/messages', await only([guildA]));
    expect([res.status, JSON.parse(res.body).code]).toEqual([400, 50035]);
  });

  it('answers 503 with Retry-After when the state cannot say whose channel it is, and reads no message', async () => {
    const { app, only, reader, store } = await api();
    const token = await only([guildA]);
    reader.failing = new StoreUnavailableError('down');
    const res = await seen(app, `/channels/${channelA}/messages?after=${idsA[2]}`, token);
    expect([res.status, JSON.parse(res.body).code, res.headers['retry-after']]).toEqual([503, 0, '1']);
    expect(await seen(app, `/channels/${channelB}/messages?after=${idsB[2]}`, token)).toEqual(res);
    expect(store.reads).toBe(0);
  });
});
