import type { FastifyPluginAsync } from 'fastify';
import { discordError, invalidFormBody, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import type { TokenSigner } from '../../gateway-proxy/index.ts';
import type { GuildSnapshot } from '../../core/discord/guild-state.ts';
import type { CachedGuildState } from '../../store/index.ts';
import { apiErrorHandler, mayRead, requireToken, snowflakeParam, withDeadline } from './api-access.ts';

export interface StateRoutesOptions {
  state: Pick<CachedGuildState, 'guild' | 'channel'>;
  /** Unset: no token needed (API_REQUIRE_TOKEN=false). */
  tokens?: TokenSigner;
  /** Longest a request waits for the store (default 5000 ms), then 503. */
  deadlineMs?: number;
}

const UNKNOWN_CHANNEL = discordError(RESTJSONErrorCodes.UnknownChannel);
const UNKNOWN_GUILD = discordError(RESTJSONErrorCodes.UnknownGuild);

/**
 * Fields of the stored snapshot that only GUILD_CREATE carries: `GET /guilds/:id` answers the
 * guild object without them (channels have their own route, members theirs).
 */
const GUILD_CREATE_ONLY = new Set([
  'channels',
  'threads',
  'members',
  'presences',
  'voice_states',
  'stage_instances',
  'guild_scheduled_events',
  'soundboard_sounds',
  'joined_at',
  'large',
  'member_count',
  'unavailable',
  'lazy',
  'application_command_counts',
  'embedded_activities',
]);

/** The guild object as Discord's `GET /guilds/{guild.id}` answers it (roles included). */
export function guildObject(snapshot: GuildSnapshot): Record<string, unknown> {
  return Object.fromEntries(Object.entries(snapshot).filter(([field]) => !GUILD_CREATE_ONLY.has(field)));
}

/**
 * `GET /channels/:id` and `GET /guilds/:id` from the guild state (through the cache). A token
 * limited to some guilds gets for anything outside them exactly the answer of what does not
 * exist: 404 Unknown Channel (10003) or Unknown Guild (10004), byte for byte.
 */
export const stateRoutes: FastifyPluginAsync<StateRoutesOptions> = async (app, { state, tokens, deadlineMs = 5000 }) => {
  app.setErrorHandler(apiErrorHandler);
  requireToken(app, tokens);

  app.get('/channels/:channel_id', async (request, reply) => {
    const id = snowflakeParam(request, 'channel_id');
    if (!id.ok) return reply.code(400).send(invalidFormBody([id.error]));
    const channel = await withDeadline(state.channel(id.value), deadlineMs);
    if (channel === undefined || !mayRead(request, channel.guild_id)) return reply.code(404).send(UNKNOWN_CHANNEL);
    return channel;
  });

  app.get('/guilds/:guild_id', async (request, reply) => {
    const id = snowflakeParam(request, 'guild_id');
    if (!id.ok) return reply.code(400).send(invalidFormBody([id.error]));
    // Refused before the read: a token never costs a store read for a guild outside its grant.
    if (!mayRead(request, id.value)) return reply.code(404).send(UNKNOWN_GUILD);
    const snapshot = await withDeadline(state.guild(id.value), deadlineMs);
    if (snapshot === undefined) return reply.code(404).send(UNKNOWN_GUILD);
    return guildObject(snapshot);
  });
};
