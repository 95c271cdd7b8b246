import type { FastifyInstance } from 'fastify';
import type { TokenSigner } from '../../gateway-proxy/index.ts';
import { historyRoutes, type BotSettingsStore, type CachedGuildState, type HistoryRoutesOptions } from '../../store/index.ts';
import { discordConventions, type DiscordConventionsOptions } from './discord-conventions.ts';
import { discordRoutes } from './discord-routes.ts';
import { historyAccess } from './history-access.ts';
import { messageRoutes, type MessageRoutesOptions } from './message-routes.ts';
import { settingsRoutes } from './settings-routes.ts';
import { stateRoutes } from './state-routes.ts';

export interface ApiRoutesOptions {
  store: HistoryRoutesOptions['store'];
  state: CachedGuildState;
  settings: Pick<BotSettingsStore, 'get' | 'update'>;
  /** Unset: every route is open (API_REQUIRE_TOKEN=false). */
  tokens?: TokenSigner;
  deadlineMs: number;
  /** The message routes' backend and id source; unset: no message routes (a read-only api). */
  messages?: Pick<MessageRoutesOptions, 'backend' | 'snowflakes' | 'newTraceId' | 'settleMs' | 'now' | 'relay'>;
  /** Per token and route bucket (default 50 per second, Discord's global bot limit). */
  rateLimit?: DiscordConventionsOptions['rateLimit'];
}

/**
 * Every REST route of the api role on `app`: Discord's under `/api/v10` (the bot user and
 * application, channel history, channel, guild and its channels, the message actions),
 * guildcast's own under `/api/guildcast/v1` (bot settings); and Discord's conventions (exact
 * JSON content type, 404 body, rate-limit headers) on everything under `/api` of `app`.
 */
export async function registerApiRoutes(app: FastifyInstance, { store, state, settings, tokens, deadlineMs, messages, rateLimit = { limit: 50, windowMs: 1000 } }: ApiRoutesOptions): Promise<void> {
  const v10 = '/api/v10';
  await discordConventions(app, { rateLimit, ...(messages?.now ? { now: messages.now } : {}) });
  if (tokens) await app.register(historyAccess, { store, state, deadlineMs, tokens, prefix: v10 });
  else await app.register(historyRoutes, { store, deadlineMs, prefix: v10 });
  const auth = tokens ? { tokens } : {};
  await app.register(stateRoutes, { state, deadlineMs, prefix: v10, ...auth });
  await app.register(discordRoutes, { state, deadlineMs, prefix: v10, ...auth });
  if (messages) await app.register(messageRoutes, { state, store, deadlineMs, prefix: v10, ...auth, ...messages });
  await app.register(settingsRoutes, { settings, state, deadlineMs, prefix: '/api/guildcast/v1', ...auth });
}
