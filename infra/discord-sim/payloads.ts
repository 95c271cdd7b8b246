import type { SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import { timestampOf } from '../../core/discord/snowflake.ts';
import type { SimChannel, SimGuild, SimUser, World } from './world.ts';

/**
 * Dispatch payloads shaped like Discord's (gateway v10). Only what a consumer of these events
 * reads is filled in, but every field that is present has Discord's name and type.
 */

/** The bot's own user, as READY and `GET /users/@me` carry it. */
export function botUserPayload(world: World) {
  return { ...userObject(world.bot), bot: true, verified: true, mfa_enabled: false };
}

export function readyPayload(world: World, shard: number, sessionId: string, resumeGatewayUrl: string) {
  return {
    v: 10,
    user: botUserPayload(world),
    guilds: world.guildsByShard[shard]!.map((g) => ({ id: g.id, unavailable: true })),
    session_id: sessionId,
    session_type: 'normal',
    resume_gateway_url: resumeGatewayUrl,
    shard: [shard, world.shardCount],
    application: { id: world.applicationId, flags: 0 },
    private_channels: [],
    relationships: [],
    presences: [],
    guild_join_requests: [],
    geo_ordered_rtc_regions: [],
    user_settings: {},
    _trace: ['["guildcast-gateway-sim",{"micros":0}]'],
  };
}

export function guildCreatePayload(guild: SimGuild) {
  const joinedAt = new Date(guild.createdAt).toISOString();
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [{ id: guild.id, name: '@everyone', color: 0, hoist: false, position: 0, permissions: '1071698660929', managed: false, mentionable: false, flags: 0 }],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    system_channel_id: guild.channels[0]?.id ?? null,
    preferred_locale: 'en-US',
    premium_tier: 0,
    nsfw_level: 0,
    joined_at: joinedAt,
    large: guild.members.length > 250,
    unavailable: false,
    member_count: guild.members.length,
    voice_states: [],
    members: [],
    channels: guild.channels.map((c) => channelObject(c)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

function channelObject(channel: SimChannel) {
  return {
    id: channel.id,
    type: 0,
    name: channel.name,
    position: channel.position,
    parent_id: null,
    topic: null,
    nsfw: false,
    last_message_id: null,
    rate_limit_per_user: 0,
    permission_overwrites: [],
    flags: 0,
  };
}

function userObject(user: SimUser) {
  return { id: user.id, username: user.username, global_name: null, discriminator: '0', avatar: null, public_flags: 0, flags: 0 };
}

function memberObject(joinedAt: string) {
  return {
    roles: [],
    nick: null,
    avatar: null,
    banner: null,
    joined_at: joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}

export interface MessageRef {
  id: string;
  authorId: string;
}

/** Makes message ids at send time, so ids grow with time like Discord's. */
export class MessageFactory {
  constructor(private readonly ids: SnowflakeGenerator) {}

  create(guild: SimGuild, channel: SimChannel, author: SimUser, content: string) {
    const id = this.ids.next();
    return { ...messageObject(id, guild, channel.id, author, content), nonce: id.toString() };
  }

  /** Discord sends the whole edited message since 2024. */
  update(guild: SimGuild, channel: SimChannel, message: MessageRef, author: SimUser, content: string) {
    return {
      ...messageObject(BigInt(message.id), guild, channel.id, author, content),
      edited_timestamp: new Date(timestampOf(this.ids.next())).toISOString(),
    };
  }

  /**
   * A MESSAGE_CREATE that is valid JSON but not a message: no id, no channel_id. The client
   * library passes it through; the consumer must reject it.
   */
  malformed(guildId: string | undefined, author: SimUser) {
    return { guild_id: guildId, author: userObject(author), content: 'malformed', timestamp: new Date(timestampOf(this.ids.next())).toISOString(), type: 0 };
  }
}

function messageObject(id: bigint, guild: SimGuild, channelId: string, author: SimUser, content: string) {
  return {
    id: id.toString(),
    channel_id: channelId,
    guild_id: guild.id,
    author: userObject(author),
    member: memberObject(new Date(guild.createdAt).toISOString()),
    content,
    timestamp: new Date(timestampOf(id)).toISOString(),
    edited_timestamp: null as string | null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    reactions: [],
    pinned: false,
    type: 0,
    flags: 0,
    components: [],
  };
}

export function messageDeletePayload(guild: SimGuild, channel: SimChannel, message: MessageRef) {
  return { id: message.id, channel_id: channel.id, guild_id: guild.id };
}

export function typingStartPayload(guild: SimGuild, channel: SimChannel, user: SimUser, now: number) {
  return {
    channel_id: channel.id,
    guild_id: guild.id,
    user_id: user.id,
    timestamp: Math.floor(now / 1000),
    member: { ...memberObject(new Date(guild.createdAt).toISOString()), user: userObject(user) },
  };
}

const EMOJIS = ['👍', '😂', '❤️', '🎉', '👀', '🔥'];

export function reactionAddPayload(guild: SimGuild, channel: SimChannel, message: MessageRef, user: SimUser, emoji: number) {
  return {
    user_id: user.id,
    channel_id: channel.id,
    message_id: message.id,
    guild_id: guild.id,
    message_author_id: message.authorId,
    emoji: { id: null, name: EMOJIS[emoji % EMOJIS.length]! },
    member: { ...memberObject(new Date(guild.createdAt).toISOString()), user: userObject(user) },
    burst: false,
    burst_colors: [],
    type: 0,
  };
}

const STATUSES = ['online', 'idle', 'dnd', 'offline'] as const;

export function presenceUpdatePayload(guild: SimGuild, user: SimUser, status: number) {
  const value = STATUSES[status % STATUSES.length]!;
  return {
    user: { id: user.id },
    guild_id: guild.id,
    status: value,
    activities: [],
    client_status: value === 'offline' ? {} : { desktop: value },
  };
}
