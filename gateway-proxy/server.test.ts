import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { gatewayRoutes } from './server.ts';
import { createTokenSigner } from './tokens.ts';

async function edgeRoutes() {
  const tokens = createTokenSigner('unit-test-secret');
  const app = Fastify();
  await app.register(gatewayRoutes, { gatewayUrl: () => 'ws://edge.test', tokens, maxConcurrency: 4 });
  return { app, token: await tokens.mint({ guilds: '*', ttlSeconds: 60 }) };
}

describe('the edge REST routes', () => {
  it('answers /gateway/bot for a token sent as Bot, Bearer or bare, as history reads accept it', async () => {
    const { app, token } = await edgeRoutes();
    for (const authorization of [`Bot ${token}`, `Bearer ${token}`, `BOT ${token}`, token]) {
      const res = await app.inject({ url: '/api/v10/gateway/bot', headers: { authorization } });
      expect(res.statusCode, authorization.slice(0, 7)).toBe(200);
      expect(res.json()).toMatchObject({ url: 'ws://edge.test', shards: 1, session_start_limit: { max_concurrency: 4 } });
    }
  });

  it("refuses anything else with Discord's 401 body, byte for byte", async () => {
    const { app, token } = await edgeRoutes();
    for (const headers of [{}, { authorization: `Basic ${token}` }, { authorization: 'Bot not-a-token' }, { authorization: `Bot ${token} x` }]) {
      const res = await app.inject({ url: '/api/v10/gateway/bot', headers });
      expect(res.statusCode).toBe(401);
      expect(res.body).toBe('{"message":"401: Unauthorized","code":0}');
    }
    expect((await app.inject('/api/v10/gateway')).json()).toEqual({ url: 'ws://edge.test' });
  });
});
