import type { FastifyPluginAsync } from 'fastify';
import { discordError, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import { isSnowflake } from '../../core/discord/snowflake.ts';
import type { TokenSigner } from '../../gateway-proxy/index.ts';
import { historyRoutes, type CachedGuildState, type HistoryRoutesOptions } from '../../store/index.ts';
import { apiErrorHandler, requireToken, withDeadline } from './api-access.ts';

export interface HistoryAccessOptions extends HistoryRoutesOptions {
  /** Verifies `Authorization: Bot <guildcast token>` (or `Bearer`, or the bare token), the same tokens the edge accepts. */
  tokens: TokenSigner;
  /** Channel → guild (channel_guilds through the cache). */
  state: Pick<CachedGuildState, 'guildOfChannel'>;
}

/** Discord's answer for a channel that does not exist; see bin/README.md for why every refusal is this one. */
const UNKNOWN_CHANNEL = discordError(RESTJSONErrorCodes.UnknownChannel);

/**
 * The store's history routes behind guildcast tokens: a request needs a valid token (401 as
 * Discord answers), and a token limited to some guilds reads only channels the guild state puts
 * in one of them. The channel's guild is looked up before any message is read; a channel of
 * another guild and a channel the state does not know (a DM, an id never used) answer the same
 * 404 Unknown Channel. A `"*"` token sees the bare routes, DMs and unknown channels included.
 */
export const historyAccess: FastifyPluginAsync<HistoryAccessOptions> = async (app, { tokens, state, store, deadlineMs = 5000 }) => {
  app.setErrorHandler(apiErrorHandler);
  requireToken(app, tokens);
  app.addHook('onRequest', async (request, reply) => {
    const guilds = request.grant?.guilds;
    if (guilds === undefined || guilds === '*') return;
    const channelId = (request.params as { channel_id?: unknown }).channel_id;
    // Not an id at all: the route's own 50035 says so, whoever asks.
    if (!isSnowflake(channelId)) return;
    const guildId = await withDeadline(state.guildOfChannel(channelId), deadlineMs);
    if (guildId === undefined || !guilds.has(guildId)) return reply.code(404).send(UNKNOWN_CHANNEL);
  });

  // Only the route options: fastify hands register options (like `prefix`) to the plugin too.
  await app.register(historyRoutes, { store, deadlineMs });
};
