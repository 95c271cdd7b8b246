import type { Server } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { EdgeGateway } from './gateway.ts';
import type { TokenSigner } from './tokens.ts';

export interface GatewayRoutesOptions {
  /** The websocket URL clients are sent to. */
  publicUrl: () => string;
  tokens: TokenSigner;
  /** IDENTIFYs per 5 s this edge accepts per address, reported as max_concurrency. */
  maxConcurrency: number;
}

/**
 * `GET /api/v10/gateway` and `GET /api/v10/gateway/bot`, so Discord libraries find the edge by
 * pointing their REST base at guildcast. `/gateway/bot` wants a valid token, as Discord's does.
 */
export const gatewayRoutes: FastifyPluginAsync<GatewayRoutesOptions> = async (app, options) => {
  app.get('/api/v10/gateway', async () => ({ url: options.publicUrl() }));

  app.get('/api/v10/gateway/bot', async (request, reply) => {
    const token = request.headers.authorization;
    const valid = token ? await options.tokens.verify(token).then(() => true, () => false) : false;
    if (!valid) return reply.code(401).send({ message: '401: Unauthorized', code: 0 });
    return {
      url: options.publicUrl(),
      shards: 1,
      // guildcast does not count session starts: the budget is fixed and full.
      session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: options.maxConcurrency },
    };
  });
};

/** Serves the gateway's websocket upgrades on an existing HTTP server (the edge's, or the `all` role's). */
export function attachGateway(server: Server, gateway: EdgeGateway): () => void {
  const onUpgrade = gateway.handleUpgrade.bind(gateway);
  server.on('upgrade', onUpgrade);
  return () => server.off('upgrade', onUpgrade);
}
