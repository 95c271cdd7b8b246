import cassandra from 'cassandra-driver';
import { EDITABLE_COLUMNS, MESSAGE_COLUMNS, type MessageEdit, type MessageKey, type MessageRow } from '../model/message.ts';
import { timestampOf } from '../../core/discord/snowflake.ts';

/**
 * The CQL the repository sends, as plain text and parameter lists so they can be checked without a
 * database. One prepared statement per kind of write: a value a message does not carry is bound
 * as `unset`, which writes nothing, where a null would write a tombstone.
 *
 * Write times are explicit so that replays cannot undo newer facts: a create is written at the
 * message's own creation time, edits and deletes at "now" (never earlier than the creation). A
 * MESSAGE_CREATE replayed from Kafka after an edit or a delete therefore loses to it.
 */
const { unset } = cassandra.types;

const ROW_COLUMNS = ['author_id', ...MESSAGE_COLUMNS.map((c) => c.name), 'extra'];
const SELECT_COLUMNS = ['channel_id', 'message_id', ...ROW_COLUMNS].join(', ');
const KEY = 'channel_id = ? AND bucket = ?';

export type BoundValue = unknown;
/** Page directions within one partition: `desc` is the table's clustering order, newest first. */
export type Direction = 'desc' | 'asc';

export interface MessageStatements {
  readonly insert: string;
  readonly edit: string;
  readonly delete: string;
  readonly selectOne: string;
  /** Page queries: [direction][bounded]. A bound is exclusive: `<` for desc, `>` for asc. */
  readonly page: Readonly<Record<Direction, { readonly whole: string; readonly bounded: string }>>;
  insertParams(row: MessageRow): BoundValue[];
  /** Undefined when the edit carries nothing writable. */
  editParams(edit: MessageEdit, nowMicros: bigint): BoundValue[] | undefined;
  deleteParams(key: MessageKey, nowMicros: bigint): BoundValue[];
}

export function messageStatements(keyspace: string): MessageStatements {
  const table = `${keyspace}.messages`;
  const page = (direction: Direction, bounded: boolean) =>
    `SELECT ${SELECT_COLUMNS} FROM ${table} WHERE ${KEY}` +
    (bounded ? ` AND message_id ${direction === 'desc' ? '<' : '>'} ?` : '') +
    (direction === 'asc' ? ' ORDER BY message_id ASC' : '') +
    ' LIMIT ?';
  return {
    insert:
      `INSERT INTO ${table} (channel_id, bucket, message_id, ${ROW_COLUMNS.join(', ')}) ` +
      `VALUES (?, ?, ?, ${ROW_COLUMNS.map(() => '?').join(', ')}) USING TIMESTAMP ?`,
    edit:
      `UPDATE ${table} USING TIMESTAMP ? SET ${EDITABLE_COLUMNS.map((c) => `${c.name} = ?`).join(', ')} ` +
      `WHERE ${KEY} AND message_id = ?`,
    delete: `DELETE FROM ${table} USING TIMESTAMP ? WHERE ${KEY} AND message_id = ?`,
    selectOne: `SELECT ${SELECT_COLUMNS} FROM ${table} WHERE ${KEY} AND message_id = ?`,
    page: {
      desc: { whole: page('desc', false), bounded: page('desc', true) },
      asc: { whole: page('asc', false), bounded: page('asc', true) },
    },
    insertParams: (row) => [
      row.channelId,
      row.bucket,
      row.messageId,
      row.authorId,
      ...MESSAGE_COLUMNS.map((c) => valueOrUnset(row.values.get(c.name))),
      valueOrUnset(row.extra),
      createdMicros(row),
    ],
    editParams: (edit, nowMicros) => {
      if (edit.values.size === 0) return undefined;
      const editedMicros = BigInt(edit.editedAt ?? 0) * 1000n;
      return [
        laterMicros(edit, editedMicros > nowMicros ? editedMicros : nowMicros),
        ...EDITABLE_COLUMNS.map((c) => valueOrUnset(edit.values.get(c.name))),
        edit.channelId,
        edit.bucket,
        edit.messageId,
      ];
    },
    deleteParams: (key, nowMicros) => [laterMicros(key, nowMicros), key.channelId, key.bucket, key.messageId],
  };
}

function valueOrUnset(value: unknown): unknown {
  return value === undefined || value === null ? unset : value;
}

function createdMicros(key: MessageKey): bigint {
  return BigInt(timestampOf(key.messageId)) * 1000n;
}

/** A write time after the message's creation, so an edit or delete always beats a replayed create. */
function laterMicros(key: MessageKey, micros: bigint): bigint {
  const created = createdMicros(key);
  return micros > created ? micros : created + 1n;
}
