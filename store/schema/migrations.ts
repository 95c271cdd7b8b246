/**
 * The store's schema, as an append-only list: a landed migration is never edited, only followed.
 * Everything here must run unchanged on Cassandra 5 and ScyllaDB: no SASI/SAI indexes, no
 * materialized views, no vector types.
 */
export interface Migration {
  id: string;
  description: string;
  statements: (keyspace: string) => string[];
}

export const migrations: readonly Migration[] = [
  {
    id: '0001_messages',
    description: "channel messages in Discord's layout: one partition per channel and 10-day bucket",
    statements: (ks) => [
      `CREATE TABLE IF NOT EXISTS ${ks}.messages (
        channel_id bigint,
        bucket int,
        message_id bigint,
        guild_id bigint,
        author_id bigint,
        author text,
        content text,
        type int,
        flags int,
        tts boolean,
        mention_everyone boolean,
        pinned boolean,
        edited_timestamp timestamp,
        nonce text,
        webhook_id bigint,
        application_id bigint,
        attachments text,
        embeds text,
        mentions text,
        mention_roles text,
        mention_channels text,
        reactions text,
        sticker_items text,
        components text,
        message_reference text,
        referenced_message text,
        thread text,
        poll text,
        extra text,
        PRIMARY KEY ((channel_id, bucket), message_id)
      ) WITH CLUSTERING ORDER BY (message_id DESC)
        AND compaction = {'class': 'SizeTieredCompactionStrategy'}`,
    ],
  },
  {
    id: '0002_guild_state',
    description: 'durable guild state (guild, channels, threads, roles, the bot\'s member) from GUILD_*/CHANNEL_*/THREAD_*/ROLE_* events, with lookups by channel and by partition',
    statements: (ks) => [
      // One row per guild: the GUILD_CREATE payload with every later change applied (core/discord/guild-state.ts).
      // Read and written whole: guild events are rare next to messages, and a load is one read.
      `CREATE TABLE IF NOT EXISTS ${ks}.guild_state (
        guild_id bigint PRIMARY KEY,
        snapshot text,
        updated_at timestamp
      )`,
      // Channel (or thread) -> its guild: REST authorization finds the guild before reading anything.
      `CREATE TABLE IF NOT EXISTS ${ks}.channel_guilds (
        channel_id bigint PRIMARY KEY,
        guild_id bigint
      )`,
      // The guilds living on each partition of the events topic (for that partition count): what an
      // edge node loads when it starts reading a partition.
      `CREATE TABLE IF NOT EXISTS ${ks}.guilds_by_partition (
        partitions int,
        partition int,
        guild_id bigint,
        PRIMARY KEY ((partitions, partition), guild_id)
      )`,
    ],
  },
  {
    id: '0003_bot_settings',
    description: "the bot's own per-guild settings (prefix, language, welcome channel, ...)",
    statements: (ks) => [
      `CREATE TABLE IF NOT EXISTS ${ks}.bot_settings (
        guild_id bigint PRIMARY KEY,
        settings text,
        updated_at timestamp
      )`,
    ],
  },
  {
    id: '0004_gateway_sessions',
    description: 'edge sessions for RESUME on any node: one row per owner epoch, newest first, written with the resume window as TTL',
    statements: (ks) => [
      `CREATE TABLE IF NOT EXISTS ${ks}.gateway_sessions (
        session_id text,
        epoch int,
        state text,
        PRIMARY KEY ((session_id), epoch)
      ) WITH CLUSTERING ORDER BY (epoch DESC)`,
    ],
  },
];
