import type { FastifyPluginAsync } from 'fastify';
import { withTimeout } from '../../core/async/with-timeout.ts';
import { bearerToken } from '../../core/discord/authorization.ts';
import { discordError, httpStatusError, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import { parseSnowflake } from '../../core/discord/snowflake.ts';
import type { AccessGrant, TokenSigner } from '../../gateway-proxy/index.ts';
import { historyRoutes, StoreUnavailableError, type HistoryRoutesOptions } from '../../store/index.ts';

export interface HistoryAccessOptions extends HistoryRoutesOptions {
  /** Verifies `Authorization: Bot <guildcast token>` (or `Bearer`, or the bare token), the same tokens the edge accepts. */
  tokens: TokenSigner;
}

declare module 'fastify' {
  interface FastifyRequest {
    grant?: AccessGrant;
  }
}

/** Discord's answer for a channel that does not exist; see bin/README.md for why every refusal is this one. */
const UNKNOWN_CHANNEL = discordError(RESTJSONErrorCodes.UnknownChannel);

/**
 * The store's history routes behind guildcast tokens: a request needs a valid token (401 as
 * Discord answers), and may read only messages of guilds its token allows. Anything else answers
 * exactly as a channel that does not exist (404 Unknown Channel): a channel of another guild, an
 * empty page of one, a channel the store knows nothing of. Messages carry their guild but channels
 * have no stored guild yet, so when the answer holds no message (an empty page, an unknown message)
 * the channel's newest message says whose it is; a channel without any cannot be shown to be the
 * token's and reads as unknown. Messages without a guild (DMs) need a `"*"` token, which sees
 * everything as the bare routes answer it.
 */
export const historyAccess: FastifyPluginAsync<HistoryAccessOptions> = async (app, { tokens, store, deadlineMs = 5000 }) => {
  app.addHook('onRequest', async (request, reply) => {
    const token = bearerToken(request.headers.authorization, { bare: true });
    try {
      if (!token) throw new Error('no token');
      request.grant = await tokens.verify(token);
    } catch {
      return reply.code(401).send(httpStatusError(401));
    }
  });
  app.addHook('preSerialization', async (request, reply, payload: unknown) => {
    const guilds = request.grant?.guilds;
    if (guilds === '*' || guilds === undefined) return payload;
    const unknownMessage = reply.statusCode === 404 && (payload as { code?: unknown } | null)?.code === 10008;
    if (reply.statusCode !== 200 && !unknownMessage) return payload;
    const allowed = (m: { guild_id?: string } | undefined) => m?.guild_id !== undefined && guilds.has(m.guild_id);
    const messages = (unknownMessage ? [] : Array.isArray(payload) ? payload : [payload]) as { guild_id?: string }[];
    if (messages.length > 0 ? messages.every(allowed) : allowed(await newestOf(request.params))) return payload;
    reply.code(404);
    return UNKNOWN_CHANNEL;
  });

  /** The channel's newest message, whose guild is the channel's, within the same deadline as the routes. */
  async function newestOf(params: unknown): Promise<{ guild_id?: string } | undefined> {
    const channelId = parseSnowflake((params as { channel_id?: unknown }).channel_id);
    if (channelId === undefined) return undefined;
    const [newest] = await withTimeout(store.history(channelId, { limit: 1 }), deadlineMs, () => new StoreUnavailableError(`no answer from the store within ${deadlineMs} ms`));
    return newest as { guild_id?: string } | undefined;
  }

  // Only the route options: fastify hands register options (like `prefix`) to the plugin too.
  await app.register(historyRoutes, { store, deadlineMs });
};
