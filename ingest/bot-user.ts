import { z } from 'zod';
import { snowflakeString } from '../core/discord/snowflake.ts';

const botUser = z.looseObject({ id: snowflakeString(), username: z.string().min(1) });

/**
 * The bot's own user, as Discord knows it (`GET /users/@me` with the bot token). With
 * DISCORD_TOKEN set guildcast forwards acting requests to Discord, which authors every message as
 * this user; a guildcast token must name the same user, or a library that skips or recognises its
 * own messages by `client.user.id` (discord.js does) sees them as somebody else's.
 */
export async function fetchBotUser(apiBase: string, token: string, { timeoutMs = 10_000 } = {}): Promise<{ id: string; username: string }> {
  const url = `${apiBase.replace(/\/+$/, '')}/v10/users/@me`;
  const response = await fetch(url, { headers: { authorization: `Bot ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: is DISCORD_TOKEN a bot token of this Discord?`);
  const parsed = botUser.safeParse(await response.json());
  if (!parsed.success) throw new Error(`GET ${url} did not answer a user: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { id: parsed.data.id, username: parsed.data.username };
}
