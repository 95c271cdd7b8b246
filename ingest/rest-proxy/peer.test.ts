import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { askOwner, PEER_PATH, peerKey, peerRoutes } from './peer.ts';
import type { ProxyRequest } from './types.ts';

describe('peer hop', () => {
  it('carries a request and its answer unchanged, raw bodies included, for peers with the key', async () => {
    const seen: ProxyRequest[] = [];
    const app = Fastify();
    await app.register(peerRoutes(peerKey('token'), async (request) => (seen.push(request), { status: 201, headers: { 'x-ratelimit-remaining': '3' }, body: Buffer.from([0, 255, 7]) })));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const request: ProxyRequest = { method: 'PATCH', path: '/channels/1100000000000000001/messages/1100000000000000002', query: 'a=1', body: { content: 'é' }, headers: { 'X-Audit-Log-Reason': 'r' } };
      const answer = await askOwner(url, request, peerKey('token'), 2_000);
      expect(answer).toEqual({ status: 201, headers: { 'x-ratelimit-remaining': '3' }, body: Buffer.from([0, 255, 7]) });
      expect(seen[0]).toEqual({ ...request, headers: { 'x-audit-log-reason': 'r' } });
      await askOwner(url, { method: 'POST', path: '/channels/1100000000000000001/messages', body: Buffer.from('raw') }, peerKey('token'), 2_000);
      expect(seen[1]!.body).toEqual(Buffer.from('raw'));

      // Another bot's key, or a path the proxy does not forward, never reaches the handler.
      expect(await askOwner(url, request, peerKey('other'), 2_000)).toBeUndefined();
      const bad = await fetch(`${url}${PEER_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-guildcast-proxy-key': peerKey('token') }, body: JSON.stringify({ method: 'GET', path: '/../x' }) });
      expect(bad.status).toBe(400);
      expect(seen).toHaveLength(2);
    } finally {
      await app.close();
    }
  });

  it('reports an owner that does not answer as unreachable', async () => {
    expect(await askOwner('http://127.0.0.1:1', { method: 'GET', path: '/users/@me' }, peerKey('t'), 1_000)).toBeUndefined();
  });
});
