import type { FastifyPluginAsync } from 'fastify';
import { discordError, invalidFormBody, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import type { TokenSigner } from '../../gateway-proxy/index.ts';
import type { BotSettingsStore, CachedGuildState } from '../../store/index.ts';
import { apiErrorHandler, mayRead, requireToken, snowflakeParam, withDeadline } from './api-access.ts';

export interface SettingsRoutesOptions {
  settings: Pick<BotSettingsStore, 'get' | 'update'>;
  /** Settings exist for guilds the guild state knows. */
  state: Pick<CachedGuildState, 'guild'>;
  /** Unset: no token needed (API_REQUIRE_TOKEN=false). */
  tokens?: TokenSigner;
  deadlineMs?: number;
}

const UNKNOWN_GUILD = discordError(RESTJSONErrorCodes.UnknownGuild);
/** Far above the settings' own limits (bot-settings.ts), so those answer with the field that is too big. */
const BODY_LIMIT = 64 * 1024;

/**
 * `GET` and `PATCH /api/guildcast/v1/guilds/:guild_id/settings`: the bot's settings for a guild
 * (defaults until written). PATCH takes a partial object (fields replace, `extra` merges, a null
 * key in it removes the key) and answers the settings written; an invalid body answers 50035 with
 * Discord's errors tree. A guild outside the token's grant and a guild the state does not know
 * answer the same 404 Unknown Guild, before the body is even parsed.
 */
export const settingsRoutes: FastifyPluginAsync<SettingsRoutesOptions> = async (app, { settings, state, tokens, deadlineMs = 5000 }) => {
  app.setErrorHandler(apiErrorHandler);
  requireToken(app, tokens);
  // In onRequest, before parsing: "not yours" with a broken body must look like "absent" with one.
  app.addHook('onRequest', async (request, reply) => {
    const id = snowflakeParam(request, 'guild_id');
    if (!id.ok) return reply.code(400).send(invalidFormBody([id.error]));
    if (!mayRead(request, id.value) || (await withDeadline(state.guild(id.value), deadlineMs)) === undefined) return reply.code(404).send(UNKNOWN_GUILD);
  });

  const guildOf = (params: unknown) => (params as { guild_id: string }).guild_id;
  app.get('/guilds/:guild_id/settings', async (request) => withDeadline(settings.get(guildOf(request.params)), deadlineMs));
  app.patch('/guilds/:guild_id/settings', { bodyLimit: BODY_LIMIT }, async (request) => settings.update(guildOf(request.params), request.body));
};
