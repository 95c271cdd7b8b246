import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import { cachedGuildState, memoryGuildState, memoryStateChanges } from '../../store/index.ts';
import { registerApiRoutes } from './api-routes.ts';
import { memorySettings, memoryStore, snapshot } from './api.test-support.ts';

const guildA = '1300000000000000001';
const guildB = '1300000000000000002';
const channelA = '1300000000000000011';
const channelB = '1300000000000000012';
const botId = '1300000000000000777';

async function api({ limit = 1000 }: { limit?: number } = {}) {
  const tokens = createTokenSigner('discord-routes-secret');
  const state = cachedGuildState(memoryGuildState([snapshot(guildA, [channelA]), snapshot(guildB, [channelB])]), { changes: memoryStateChanges(), ttlMs: 600_000, max: 100 });
  const app = Fastify();
  // What another role registers on the same server: the conventions reach it too.
  app.get('/api/v10/gateway', async () => ({ url: 'ws://edge' }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await registerApiRoutes(app, { store: memoryStore({}), state, settings: memorySettings(), deadlineMs: 1000, tokens, rateLimit: { limit, windowMs: 10_000 } });
  const token = await tokens.mint({ subject: botId, username: 'helper-bot', guilds: [guildA], ttlSeconds: 60 });
  const get = (url: string, as: string | undefined = token) => app.inject({ method: 'GET', url, headers: as ? { authorization: `Bot ${as}` } : {} });
  return { app, get, tokens };
}

describe('the routes Discord libraries call at login', () => {
  it('answers /users/@me with the token-named bot user', async () => {
    const { get } = await api();
    const res = await get('/api/v10/users/@me');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: botId, username: 'helper-bot', discriminator: '0', bot: true });
    expect((await get('/api/v10/users/@me', 'not-a-token')).json()).toEqual({ message: '401: Unauthorized', code: 0 });
  });

  it('answers both application routes with the bot user as application and owner', async () => {
    const { get } = await api();
    for (const url of ['/api/v10/applications/@me', '/api/v10/oauth2/applications/@me']) {
      const app = (await get(url)).json();
      expect(app).toMatchObject({ id: botId, name: 'helper-bot', bot_public: false, bot_require_code_grant: false, owner: { id: botId }, flags: 0 });
      expect(typeof app.verify_key).toBe('string');
    }
  });

  it('lists a guild\'s channels with their guild_id; another guild is unknown', async () => {
    const { get } = await api();
    const res = await get(`/api/v10/guilds/${guildA}/channels`);
    expect(res.json()).toEqual([{ id: channelA, type: 0, name: `channel ${channelA}`, guild_id: guildA }]);
    const other = await get(`/api/v10/guilds/${guildB}/channels`);
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ message: 'Unknown Guild', code: 10004 });
  });
});

describe('Discord conventions under /api', () => {
  it('sends JSON as exactly application/json, on every role\'s /api routes, and leaves the rest alone', async () => {
    const { get } = await api();
    for (const url of ['/api/v10/users/@me', `/api/v10/channels/${channelA}`, '/api/v10/gateway', `/api/v10/channels/${channelB}`, '/api/v10/nowhere'])
      expect((await get(url)).headers['content-type'], url).toBe('application/json');
    const health = await get('/healthz');
    expect(health.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(health.headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('answers unknown routes with Discord\'s 404 body under /api only', async () => {
    const { get, app } = await api();
    for (const url of ['/api/v10/nope', '/api/v9/users/@me', '/api']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).toBe('{"message":"404: Not Found","code":0}');
    }
    expect((await app.inject({ method: 'PUT', url: '/api/v10/users/@me' })).json()).toEqual({ message: '404: Not Found', code: 0 });
    expect((await get('/console-nope')).json()).toMatchObject({ error: 'Not Found', statusCode: 404 });
  });

  it('carries X-RateLimit-* from a real limiter and answers 429 in Discord\'s shape when it is spent', async () => {
    const { get } = await api({ limit: 2 });
    const first = await get('/api/v10/users/@me');
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1' });
    expect(Number(first.headers['x-ratelimit-reset-after'])).toBeGreaterThan(0);
    expect(Number(first.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    expect(first.headers['x-ratelimit-bucket']).toMatch(/^[0-9a-f]{16}$/);
    expect((await get('/api/v10/users/@me')).headers['x-ratelimit-remaining']).toBe('0');
    const limited = await get('/api/v10/users/@me');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['x-ratelimit-scope']).toBe('user');
    expect(limited.json()).toMatchObject({ message: 'You are being rate limited.', global: false });
    expect(limited.json().retry_after).toBeGreaterThan(0);
    // Another route is another bucket, and another channel another window of the same bucket.
    expect((await get('/api/v10/applications/@me')).statusCode).toBe(200);
    expect((await get(`/api/v10/channels/${channelA}`)).headers['x-ratelimit-remaining']).toBe('1');
    expect((await get(`/api/v10/channels/${channelA}`)).headers['x-ratelimit-remaining']).toBe('0');
    expect((await get(`/api/v10/channels/${channelB}`)).headers['x-ratelimit-remaining']).toBe('1');
  });
});
