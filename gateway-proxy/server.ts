import type { Server } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { bearerToken } from '../core/discord/authorization.ts';
import { httpStatusError } from '../core/discord/rest-errors.ts';
import type { EdgeGateway } from './gateway.ts';
import type { TokenSigner } from './tokens.ts';

export interface GatewayRoutesOptions {
  /** The fleet's websocket URL (a load balancer in front of every node): a client that lost its node reconnects there. */
  gatewayUrl: () => string;
  tokens: TokenSigner;
  /** IDENTIFYs per 5 s this edge accepts per address, reported as max_concurrency. */
  maxConcurrency: number;
}

/**
 * `GET /api/v10/gateway` and `GET /api/v10/gateway/bot`, so Discord libraries find the edge by
 * pointing their REST base at guildcast. `/gateway/bot` wants a valid token, as Discord's does.
 */
export const gatewayRoutes: FastifyPluginAsync<GatewayRoutesOptions> = async (app, options) => {
  app.get('/api/v10/gateway', async () => ({ url: options.gatewayUrl() }));

  app.get('/api/v10/gateway/bot', async (request, reply) => {
    const token = bearerToken(request.headers.authorization, { bare: true });
    const valid = token ? await options.tokens.verify(token).then(() => true, () => false) : false;
    if (!valid) return reply.code(401).send(httpStatusError(401));
    return {
      url: options.gatewayUrl(),
      shards: 1,
      // guildcast does not count session starts: the only identify budget is max_concurrency per
      // 5 s window, so it resets within 5 s. Discord libraries cache this answer (and its url) for
      // reset_after: a day of it kept @discordjs/ws on one node's URL long after the node died.
      session_start_limit: { total: 1000, remaining: 1000, reset_after: IDENTIFY_WINDOW_MS, max_concurrency: options.maxConcurrency },
    };
  });
};

/** The window EDGE_IDENTIFIES_PER_5S counts in. */
const IDENTIFY_WINDOW_MS = 5_000;

/** Serves the gateway's websocket upgrades on an existing HTTP server (the edge's, or the `all` role's). */
export function attachGateway(server: Server, gateway: EdgeGateway): () => void {
  return gateway.attach(server);
}
