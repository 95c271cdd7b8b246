import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { discordError, invalidFormBody, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import { botUser, type BotUser, type TokenSigner } from '../../gateway-proxy/index.ts';
import type { CachedGuildState } from '../../store/index.ts';
import { apiErrorHandler, mayRead, requireToken, snowflakeParam, withDeadline } from './api-access.ts';

export interface DiscordRoutesOptions {
  state: Pick<CachedGuildState, 'guild'>;
  /** Unset: no token needed (API_REQUIRE_TOKEN=false); the bot user is then guildcast's own. */
  tokens?: TokenSigner;
  deadlineMs?: number;
}

const UNKNOWN_GUILD = discordError(RESTJSONErrorCodes.UnknownGuild);
/** Who answers on an open api (no tokens): a stable id, so clients still get a snowflake. */
const OPEN_USER = botUser({ subject: 'guildcast' });

/** The request's bot user: the one its token names. */
export function requestUser(request: FastifyRequest): BotUser {
  return request.grant ? botUser(request.grant) : OPEN_USER;
}

/** Discord's user object for a bot (`GET /users/@me`, message authors, an application's owner). */
export function userObject(user: BotUser) {
  return { id: user.id, username: user.username, discriminator: '0', global_name: null, avatar: null, bot: true, system: false, banner: null, accent_color: null, flags: 0, public_flags: 0, mfa_enabled: false, verified: true, email: null, locale: 'en-US', premium_type: 0 };
}

/**
 * The application object (`GET /applications/@me`, `GET /oauth2/applications/@me`): a bot's
 * application shares the bot user's id, as on Discord. Every field discord.py's AppInfo reads
 * without a default is present.
 */
export function applicationObject(user: BotUser) {
  return {
    id: user.id,
    name: user.username,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: false,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    owner: userObject(user),
    team: null,
    bot: userObject(user),
    rpc_origins: [],
    tags: [],
    redirect_uris: [],
    interactions_endpoint_url: null,
    approximate_guild_count: 0,
  };
}

/**
 * What Discord libraries call at login and start-up that the other routes do not answer: the
 * token's bot user and application, and a guild's channel list (discord.js `guild.channels.fetch()`).
 */
export const discordRoutes: FastifyPluginAsync<DiscordRoutesOptions> = async (app, { state, tokens, deadlineMs = 5000 }) => {
  app.setErrorHandler(apiErrorHandler);
  requireToken(app, tokens);

  app.get('/users/@me', async (request) => userObject(requestUser(request)));
  app.get('/applications/@me', async (request) => applicationObject(requestUser(request)));
  app.get('/oauth2/applications/@me', async (request) => applicationObject(requestUser(request)));

  app.get('/guilds/:guild_id/channels', async (request, reply) => {
    const id = snowflakeParam(request, 'guild_id');
    if (!id.ok) return reply.code(400).send(invalidFormBody([id.error]));
    if (!mayRead(request, id.value)) return reply.code(404).send(UNKNOWN_GUILD);
    const snapshot = await withDeadline(state.guild(id.value), deadlineMs);
    if (snapshot === undefined) return reply.code(404).send(UNKNOWN_GUILD);
    return snapshot.channels.map((channel) => ({ ...channel, guild_id: id.value }));
  });
};
