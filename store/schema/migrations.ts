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
];
