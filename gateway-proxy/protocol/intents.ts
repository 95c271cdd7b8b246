import { GatewayIntentBits } from '../../core/discord/protocol.ts';

/**
 * Intent bits are discord-api-types' GatewayIntentBits; what is ours is which intent each dispatch
 * needs (Discord documents it in prose, and discord-api-types has no such table).
 */
const Intent = GatewayIntentBits;

export const KNOWN_INTENTS = Object.values(GatewayIntentBits).reduce<number>((all, bit) => (typeof bit === 'number' ? all | bit : all), 0);

/** Intents as IDENTIFY sent them: a non-negative integer made only of known bits, else null (close 4013). */
export function parseIntents(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return null;
  if (value > 0x7fffffff || (value & ~KNOWN_INTENTS) !== 0) return null;
  return value;
}

const byGuildOrDm = (guild: number, dm: number) => ({ guild, dm });
const guildOnly = (bit: number) => ({ guild: bit, dm: 0 });

/** Which intent a dispatch needs, in a guild and outside one. Types not listed need none. */
const REQUIRED: Record<string, { guild: number; dm: number }> = {};
const assign = (types: string[], need: { guild: number; dm: number }) => types.forEach((t) => (REQUIRED[t] = need));

assign(
  ['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE', 'GUILD_ROLE_DELETE',
   'CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE',
   'THREAD_LIST_SYNC', 'THREAD_MEMBER_UPDATE', 'STAGE_INSTANCE_CREATE', 'STAGE_INSTANCE_UPDATE', 'STAGE_INSTANCE_DELETE'],
  guildOnly(Intent.Guilds),
);
assign(['CHANNEL_PINS_UPDATE'], byGuildOrDm(Intent.Guilds, Intent.DirectMessages));
assign(['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE', 'THREAD_MEMBERS_UPDATE'], guildOnly(Intent.GuildMembers));
assign(['GUILD_AUDIT_LOG_ENTRY_CREATE', 'GUILD_BAN_ADD', 'GUILD_BAN_REMOVE'], guildOnly(Intent.GuildModeration));
assign(['GUILD_EMOJIS_UPDATE', 'GUILD_STICKERS_UPDATE', 'GUILD_SOUNDBOARD_SOUND_CREATE', 'GUILD_SOUNDBOARD_SOUND_UPDATE',
  'GUILD_SOUNDBOARD_SOUND_DELETE', 'GUILD_SOUNDBOARD_SOUNDS_UPDATE'], guildOnly(Intent.GuildExpressions));
assign(['GUILD_INTEGRATIONS_UPDATE', 'INTEGRATION_CREATE', 'INTEGRATION_UPDATE', 'INTEGRATION_DELETE'], guildOnly(Intent.GuildIntegrations));
assign(['WEBHOOKS_UPDATE'], guildOnly(Intent.GuildWebhooks));
assign(['INVITE_CREATE', 'INVITE_DELETE'], guildOnly(Intent.GuildInvites));
assign(['VOICE_CHANNEL_EFFECT_SEND', 'VOICE_STATE_UPDATE'], guildOnly(Intent.GuildVoiceStates));
assign(['PRESENCE_UPDATE'], guildOnly(Intent.GuildPresences));
assign(['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK'], byGuildOrDm(Intent.GuildMessages, Intent.DirectMessages));
assign(['MESSAGE_REACTION_ADD', 'MESSAGE_REACTION_REMOVE', 'MESSAGE_REACTION_REMOVE_ALL', 'MESSAGE_REACTION_REMOVE_EMOJI'],
  byGuildOrDm(Intent.GuildMessageReactions, Intent.DirectMessageReactions));
assign(['TYPING_START'], byGuildOrDm(Intent.GuildMessageTyping, Intent.DirectMessageTyping));
assign(['GUILD_SCHEDULED_EVENT_CREATE', 'GUILD_SCHEDULED_EVENT_UPDATE', 'GUILD_SCHEDULED_EVENT_DELETE',
  'GUILD_SCHEDULED_EVENT_USER_ADD', 'GUILD_SCHEDULED_EVENT_USER_REMOVE'], guildOnly(Intent.GuildScheduledEvents));
assign(['AUTO_MODERATION_RULE_CREATE', 'AUTO_MODERATION_RULE_UPDATE', 'AUTO_MODERATION_RULE_DELETE'], guildOnly(Intent.AutoModerationConfiguration));
assign(['AUTO_MODERATION_ACTION_EXECUTION'], guildOnly(Intent.AutoModerationExecution));
assign(['MESSAGE_POLL_VOTE_ADD', 'MESSAGE_POLL_VOTE_REMOVE'], byGuildOrDm(Intent.GuildMessagePolls, Intent.DirectMessagePolls));

/** The intent bit a session needs to receive `type` (0: every session receives it). */
export function requiredIntent(type: string, inGuild: boolean): number {
  const need = REQUIRED[type];
  if (need === undefined) return 0;
  return inGuild ? need.guild : need.dm;
}

/** Message events whose content fields Discord blanks for sessions without MESSAGE_CONTENT. */
export const CONTENT_BEARING_TYPES: ReadonlySet<string> = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE']);
