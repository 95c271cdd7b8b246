import type { FastifyPluginAsync } from 'fastify';
import type { AccessGrant, TokenSigner } from '../../gateway-proxy/index.ts';
import { historyRoutes, type HistoryRoutesOptions } from '../../store/index.ts';

export interface HistoryAccessOptions extends HistoryRoutesOptions {
  /** Verifies `Authorization: Bot <guildcast token>`, the same tokens the edge accepts. */
  tokens: TokenSigner;
}

declare module 'fastify' {
  interface FastifyRequest {
    grant?: AccessGrant;
  }
}

/**
 * The store's history routes behind guildcast tokens: a request needs a valid token (401 as
 * Discord answers), and may read only messages of guilds its token allows (403 with Discord's
 * Missing Access, code 50001). Messages carry their guild, so the check runs on the answer,
 * before it is serialized; messages without a guild (DMs) need a `"*"` token.
 */
export const historyAccess: FastifyPluginAsync<HistoryAccessOptions> = async (app, { tokens, store, deadlineMs }) => {
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    try {
      if (!header) throw new Error('no token');
      request.grant = await tokens.verify(header);
    } catch {
      return reply.code(401).send({ message: '401: Unauthorized', code: 0 });
    }
  });
  app.addHook('preSerialization', async (request, reply, payload: unknown) => {
    const guilds = request.grant?.guilds;
    if (reply.statusCode !== 200 || guilds === '*' || guilds === undefined) return payload;
    const messages = (Array.isArray(payload) ? payload : [payload]) as { guild_id?: string }[];
    if (messages.every((m) => m.guild_id !== undefined && guilds.has(m.guild_id))) return payload;
    reply.code(403);
    return { message: 'Missing Access', code: 50001 };
  });
  // Only the route options: fastify hands register options (like `prefix`) to the plugin too.
  await app.register(historyRoutes, { store, ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
};
