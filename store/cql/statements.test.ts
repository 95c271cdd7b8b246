import cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { MESSAGE_COLUMNS, parseMessageCreate, parseMessageEdit } from '../model/message.ts';
import { timestampOf } from '../../core/discord/snowflake.ts';
import { prng } from '../test-support/reference-history.ts';
import { messageStatements } from './statements.ts';

const cql = messageStatements('ks');
const placeholders = (query: string) => query.split('?').length - 1;
const channel_id = '1100000000000000000';
const id = '1200000000000000000';
const author = { id: '80351110224678912', username: 'nelly' };

/** Payloads where every optional field is randomly present, null or missing. */
function randomPayloads(count: number): Record<string, unknown>[] {
  const random = prng(42);
  const sample: Record<string, unknown> = {
    guild_id: '1000000000000000000', content: 'hello', edited_timestamp: '2024-01-01T00:00:00Z', tts: true,
    mention_everyone: false, mentions: [author], mention_roles: ['1'], attachments: [], embeds: [{ title: 'x' }],
    nonce: 'n', pinned: false, webhook_id: '1100000000000000001', type: 19, flags: 4, message_reference: { message_id: id },
    referenced_message: null, components: [], poll: { question: { text: 'q' } }, position: 1,
  };
  return Array.from({ length: count }, () => {
    const payload: Record<string, unknown> = { id, channel_id, author };
    for (const [field, value] of Object.entries(sample)) {
      const roll = random();
      if (roll < 0.4) payload[field] = value;
      else if (roll < 0.7) payload[field] = null;
    }
    return payload;
  });
}

describe('message statements', () => {
  it('bind one value per placeholder', () => {
    const row = parseMessageCreate({ id, channel_id, author });
    expect(cql.insertParams(row)).toHaveLength(placeholders(cql.insert));
    const edit = parseMessageEdit({ id, channel_id, content: 'x' });
    expect(cql.editParams(edit, 1n)).toHaveLength(placeholders(cql.edit));
    expect(cql.deleteParams(edit, 1n)).toHaveLength(placeholders(cql.delete));
    expect(cql.edit).not.toMatch(/author/); // an edit racing a delete must not restore the required column
  });

  it('never bind a null: what a message lacks is unset', () => {
    const nulls: unknown[] = [];
    const unsetMismatches: number[] = [];
    randomPayloads(200).forEach((payload, index) => {
      const insert = cql.insertParams(parseMessageCreate(payload));
      const edit = cql.editParams(parseMessageEdit(payload), 1n) ?? [];
      nulls.push(...[...insert, ...edit].filter((value) => value === null || value === undefined));
      const absent = MESSAGE_COLUMNS.filter((c) => payload[c.name] === null || payload[c.name] === undefined).length;
      const absentExtra = payload.position === null || payload.position === undefined ? 1 : 0;
      if (insert.filter((v) => v === cassandra.types.unset).length !== absent + absentExtra) unsetMismatches.push(index);
    });
    expect(nulls).toEqual([]);
    expect(unsetMismatches).toEqual([]);
  });

  it('skip an edit that carries nothing writable', () => {
    expect(cql.editParams(parseMessageEdit({ id, channel_id, author, embeds: null }), 1n)).toBeUndefined();
  });

  it('write creates at the message time and edits and deletes later, so a replayed create loses', () => {
    const created = BigInt(timestampOf(BigInt(id))) * 1000n;
    expect(cql.insertParams(parseMessageCreate({ id, channel_id, author })).at(-1)).toBe(created);
    const edit = parseMessageEdit({ id, channel_id, content: 'x' });
    expect(cql.editParams(edit, created + 500n)![0]).toBe(created + 500n);
    // A clock behind the message's own time still writes after it.
    expect(cql.editParams(edit, created - 10_000n)![0]).toBe(created + 1n);
    expect(cql.deleteParams(edit, 0n)[0]).toBe(created + 1n);
    // Discord's edited_timestamp orders edits when it is ahead of our clock.
    const stamped = parseMessageEdit({ id, channel_id, content: 'y', edited_timestamp: new Date(Number(created / 1000n) + 60_000).toISOString() });
    expect(cql.editParams(stamped, created + 5n)![0]).toBe(created + 60_000_000n);
  });
});
