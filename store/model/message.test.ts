import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../core/discord/bucket.ts';
import { InvalidMessageError, parseMessageCreate, parseMessageEdit, toStoredMessage } from './message.ts';

const channel = '1100000000000000000';
const id = '1200000000000000000';
const author = { id: '80351110224678912', username: 'nelly', discriminator: '0', avatar: null, global_name: 'Nelly' };

/** A row as the driver returns it for what parseMessageCreate encoded. */
function rowOf(payload: unknown): Record<string, unknown> {
  const row = parseMessageCreate(payload);
  return { channel_id: row.channelId, message_id: row.messageId, author_id: row.authorId, extra: row.extra ?? null, ...Object.fromEntries(row.values) };
}

describe('message codec', () => {
  it('keys a MESSAGE_CREATE by channel, bucket and id, and keeps unmodeled fields in extra', () => {
    const row = parseMessageCreate({ id, channel_id: channel, author, content: 'hi', member: { roles: [] }, position: 3, activity: null });
    expect(row).toMatchObject({ channelId: BigInt(channel), messageId: BigInt(id), bucket: bucketOf(BigInt(id)), authorId: BigInt(author.id) });
    expect(JSON.parse(row.extra!)).toEqual({ position: 3 });
    expect(row.values.get('content')).toBe('hi');
  });

  it('never encodes null or absent fields', () => {
    const row = parseMessageCreate({ id, channel_id: channel, author, content: null, embeds: undefined, edited_timestamp: null, referenced_message: null });
    expect([...row.values.keys()]).toEqual(['author']);
    expect(row.extra).toBeUndefined();
  });

  it('rejects payloads it cannot store, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /must be an object/],
      [{ channel_id: channel, author }, /^id must be a snowflake/],
      [{ id: 'abc', channel_id: channel, author }, /^id must be a snowflake/],
      [{ id, channel_id: 12, author }, /channel_id must be a snowflake/],
      [{ id, channel_id: channel }, /author must be an object/],
      [{ id, channel_id: channel, author: { username: 'x' } }, /author.id must be a snowflake/],
      [{ id, channel_id: channel, author, embeds: {} }, /embeds must be an array/],
      [{ id, channel_id: channel, author, flags: 2 ** 40 }, /flags must be a 32-bit integer/],
      [{ id, channel_id: channel, author, edited_timestamp: 'yesterday' }, /edited_timestamp must be an ISO 8601/],
      [{ id: '9223372036854775808', channel_id: channel, author }, /beyond the largest storable/],
      [{ id: channel, channel_id: id, author }, /older than its channel/],
    ];
    for (const [payload, reason] of cases) expect(() => parseMessageCreate(payload), reason.source).toThrow(reason);
    expect(() => parseMessageCreate(null)).toThrow(InvalidMessageError);
  });

  it('reads back Discord\'s message object with defaults for what was never written', () => {
    const message = toStoredMessage(rowOf({ id, channel_id: channel, guild_id: '1000000000000000000', author, content: 'hi', position: 3 }));
    expect(message).toEqual({
      id,
      channel_id: channel,
      guild_id: '1000000000000000000',
      author,
      content: 'hi',
      timestamp: new Date(Number((BigInt(id) >> 22n) + 1420070400000n)).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
      components: [],
      position: 3,
    });
  });

  it('round-trips nested parts and timestamps', () => {
    const full = {
      id,
      channel_id: channel,
      author,
      edited_timestamp: '2024-05-01T12:00:00.123000+00:00',
      embeds: [{ title: 't', fields: [{ name: 'a', value: 'b' }] }],
      message_reference: { message_id: '1150000000000000000', channel_id: channel },
      nonce: 12345,
      webhook_id: '1100000000000000001',
    };
    expect(toStoredMessage(rowOf(full))).toMatchObject({ ...full, edited_timestamp: '2024-05-01T12:00:00.123Z' });
  });

  it('reads a row without its author as deleted', () => {
    expect(toStoredMessage({ channel_id: BigInt(channel), message_id: BigInt(id), author_id: null, content: 'edited' })).toBeUndefined();
  });

  it('takes from an edit only the editable fields it carries', () => {
    const edit = parseMessageEdit({ id, channel_id: channel, content: 'new', author, guild_id: '1', embeds: null, edited_timestamp: '2024-05-01T12:00:00Z' });
    expect([...edit.values.keys()].sort()).toEqual(['content', 'edited_timestamp']);
    expect(edit.editedAt).toBe(Date.UTC(2024, 4, 1, 12));
    expect(() => parseMessageEdit({ id, content: 'x' })).toThrow(/channel_id/);
  });
});
