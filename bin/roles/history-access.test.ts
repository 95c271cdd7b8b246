import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import type { MessageStore } from '../../store/index.ts';
import { historyAccess } from './history-access.ts';

const guildA = '81384788765712384';
const guildB = '175928847299117063';
const channelA = '81384788765712385';
const channelB = '175928847299117064';

/** An in-memory store: one message in each guild's channel. */
const store = {
  async history(channelId: unknown) {
    return [{ id: String(BigInt(String(channelId)) + 10n), channel_id: String(channelId), guild_id: String(channelId) === channelA ? guildA : guildB, content: 'hi' }];
  },
  async getMessage(channelId: unknown, messageId: unknown) {
    return { id: String(messageId), channel_id: String(channelId), guild_id: String(channelId) === channelA ? guildA : guildB, content: 'hi' };
  },
} as unknown as Pick<MessageStore, 'history' | 'getMessage'>;

async function api() {
  const tokens = createTokenSigner('test-secret');
  const app = Fastify();
  await app.register(historyAccess, { tokens, store, prefix: '/api/v10' });
  const only = (guilds: '*' | string[]) => tokens.mint({ subject: 'reader', guilds, ttlSeconds: 60 });
  return { app, only };
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

  it("serves the token's guilds and refuses the others with Missing Access", async () => {
    const { app, only } = await api();
    const token = await only([guildA]);
    const mine = await app.inject({ url: `/api/v10/channels/${channelA}/messages`, headers: { authorization: `Bot ${token}` } });
    expect(mine.statusCode).toBe(200);
    expect(mine.json()[0].guild_id).toBe(guildA);
    const theirs = await app.inject({ url: `/api/v10/channels/${channelB}/messages`, headers: { authorization: `Bot ${token}` } });
    expect(theirs.statusCode).toBe(403);
    expect(theirs.json()).toEqual({ message: 'Missing Access', code: 50001 });
    const one = await app.inject({ url: `/api/v10/channels/${channelB}/messages/${channelB}1`, headers: { authorization: token } });
    expect(one.statusCode).toBe(403);
  });

  it('lets a "*" token read every guild', async () => {
    const { app, only } = await api();
    const res = await app.inject({ url: `/api/v10/channels/${channelB}/messages`, headers: { authorization: `Bot ${await only('*')}` } });
    expect(res.statusCode).toBe(200);
  });
});
