import { bucketOf } from '../../core/discord/bucket.ts';
import { parseSnowflake, timestampOf, type Snowflake } from '../../core/discord/snowflake.ts';

/**
 * The mapping between Discord's message object and a `messages` row. One table drives both
 * directions: validation and encoding on write, decoding with Discord's defaults on read.
 * Absent and null fields are never encoded (a written null is a tombstone); defaults are applied
 * only on read.
 */
type Kind = 'snowflake' | 'text' | 'int' | 'bool' | 'timestamp' | 'json' | 'jsonArray';

interface Column {
  readonly name: string;
  readonly kind: Kind;
  /** What a read returns when the column was never written; omitted from the object when absent. */
  readonly fallback?: () => unknown;
  /** Whether MESSAGE_UPDATE may write it. */
  readonly editable: boolean;
}

const column = (name: string, kind: Kind, fallback?: () => unknown, editable = true): Column =>
  fallback === undefined ? { name, kind, editable } : { name, kind, fallback, editable };
const emptyList = () => [];

/** In the order of Discord's message object; `author` is also split out into `author_id`. */
export const MESSAGE_COLUMNS: readonly Column[] = [
  column('guild_id', 'snowflake', undefined, false),
  // Never editable: an edit that raced a delete must not bring back the row's required column.
  column('author', 'json', undefined, false),
  column('content', 'text', () => ''),
  column('edited_timestamp', 'timestamp', () => null),
  column('tts', 'bool', () => false),
  column('mention_everyone', 'bool', () => false),
  column('mentions', 'jsonArray', emptyList),
  column('mention_roles', 'jsonArray', emptyList),
  column('mention_channels', 'jsonArray'),
  column('attachments', 'jsonArray', emptyList),
  column('embeds', 'jsonArray', emptyList),
  column('reactions', 'jsonArray'),
  column('nonce', 'json', undefined, false),
  column('pinned', 'bool', () => false),
  column('webhook_id', 'snowflake', undefined, false),
  column('type', 'int', () => 0),
  column('application_id', 'snowflake', undefined, false),
  column('flags', 'int', () => 0),
  column('message_reference', 'json'),
  column('referenced_message', 'json'),
  column('thread', 'json'),
  column('components', 'jsonArray', emptyList),
  column('sticker_items', 'jsonArray'),
  column('poll', 'json'),
];

export const EDITABLE_COLUMNS: readonly Column[] = MESSAGE_COLUMNS.filter((c) => c.editable);

/** Keys of a payload that are neither modeled columns nor kept in `extra`. */
const NOT_STORED = new Set([
  'id',
  'channel_id',
  'timestamp', // derived from the id
  'member', // gateway-only; Discord's REST message object has none
]);
const MODELED = new Set(MESSAGE_COLUMNS.map((c) => c.name));

/** The greatest id a CQL `bigint` (signed 64-bit) holds; later snowflakes cannot be stored. */
const MAX_STORABLE_ID = (1n << 63n) - 1n;

export interface MessageKey {
  channelId: Snowflake;
  bucket: number;
  messageId: Snowflake;
}

/** A MESSAGE_CREATE payload, validated and encoded: every value present is non-null. */
export interface MessageRow extends MessageKey {
  authorId: Snowflake;
  values: ReadonlyMap<string, unknown>;
  /** JSON of the payload's fields we do not model, if there are any. */
  extra?: string;
}

/** A MESSAGE_UPDATE payload: only the editable fields it carries, non-null. */
export interface MessageEdit extends MessageKey {
  values: ReadonlyMap<string, unknown>;
  /** Unix ms of `edited_timestamp`, when the payload carries one. */
  editedAt?: number;
}

/** Discord's message object as the store returns it (ids as strings, defaults applied). */
export interface StoredMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: unknown;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  [field: string]: unknown;
}

export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
}

export function storableId(value: unknown, field: string): Snowflake {
  const id = parseSnowflake(value);
  if (id === undefined) throw new InvalidMessageError(`${field} must be a snowflake (a decimal string), got ${describe(value)}`);
  if (id > MAX_STORABLE_ID) throw new InvalidMessageError(`${field} ${id} is beyond the largest storable snowflake`);
  return id;
}

function keyOf(payload: Record<string, unknown>): MessageKey {
  const channelId = storableId(payload.channel_id, 'channel_id');
  const messageId = storableId(payload.id, 'id');
  // History walks stop at the channel's own bucket: an older message could never be read back.
  if (messageId < channelId) throw new InvalidMessageError(`message ${messageId} is older than its channel ${channelId}`);
  return { channelId, bucket: bucketOf(messageId), messageId };
}

/** Validates and encodes a MESSAGE_CREATE payload. Throws InvalidMessageError. */
export function parseMessageCreate(payload: unknown): MessageRow {
  const message = asObject(payload);
  const key = keyOf(message);
  const author = message.author;
  if (author === null || typeof author !== 'object') throw new InvalidMessageError('author must be an object');
  const authorId = storableId((author as Record<string, unknown>).id, 'author.id');
  const values = encodeColumns(message, MESSAGE_COLUMNS);
  const extra: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(message)) {
    if (value !== null && value !== undefined && !MODELED.has(field) && !NOT_STORED.has(field)) extra[field] = value;
  }
  return Object.keys(extra).length > 0 ? { ...key, authorId, values, extra: JSON.stringify(extra) } : { ...key, authorId, values };
}

/** Validates and encodes a MESSAGE_UPDATE payload (a partial message). Throws InvalidMessageError. */
export function parseMessageEdit(payload: unknown): MessageEdit {
  const message = asObject(payload);
  const key = keyOf(message);
  const values = encodeColumns(message, EDITABLE_COLUMNS);
  const edited = values.get('edited_timestamp');
  return edited instanceof Date ? { ...key, values, editedAt: edited.getTime() } : { ...key, values };
}

function encodeColumns(message: Record<string, unknown>, columns: readonly Column[]): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const { name, kind } of columns) {
    const value = message[name];
    if (value === null || value === undefined) continue;
    values.set(name, encode(value, kind, name));
  }
  return values;
}

function encode(value: unknown, kind: Kind, field: string): unknown {
  switch (kind) {
    case 'snowflake':
      return storableId(value, field);
    case 'text':
      if (typeof value !== 'string') throw new InvalidMessageError(`${field} must be a string, got ${describe(value)}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)
        throw new InvalidMessageError(`${field} must be a 32-bit integer, got ${describe(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new InvalidMessageError(`${field} must be a boolean, got ${describe(value)}`);
      return value;
    case 'timestamp': {
      const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(ms)) throw new InvalidMessageError(`${field} must be an ISO 8601 timestamp, got ${describe(value)}`);
      return new Date(ms);
    }
    case 'jsonArray':
      if (!Array.isArray(value)) throw new InvalidMessageError(`${field} must be an array, got ${describe(value)}`);
      return JSON.stringify(value);
    case 'json':
      return JSON.stringify(value);
  }
}

/** Decodes a row; undefined for a row an edit/delete race left without its author (it reads as deleted). */
export function toStoredMessage(row: Readonly<Record<string, unknown>>): StoredMessage | undefined {
  if (row.author_id === null || row.author_id === undefined) return undefined;
  const id = row.message_id as bigint;
  const message: Record<string, unknown> = {
    id: id.toString(),
    channel_id: (row.channel_id as bigint).toString(),
    timestamp: new Date(timestampOf(id)).toISOString(),
  };
  for (const { name, kind, fallback } of MESSAGE_COLUMNS) {
    const value = row[name];
    if (value !== null && value !== undefined) message[name] = decode(value, kind);
    else if (fallback) message[name] = fallback();
  }
  if (typeof row.extra === 'string') {
    for (const [field, value] of Object.entries(JSON.parse(row.extra) as Record<string, unknown>)) {
      if (!(field in message)) message[field] = value;
    }
  }
  return message as StoredMessage;
}

function decode(value: unknown, kind: Kind): unknown {
  switch (kind) {
    case 'snowflake':
      return (value as bigint).toString();
    case 'timestamp':
      return (value as Date).toISOString();
    case 'json':
    case 'jsonArray':
      return JSON.parse(value as string);
    default:
      return value;
  }
}

function asObject(payload: unknown): Record<string, unknown> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    throw new InvalidMessageError(`a message payload must be an object, got ${describe(payload)}`);
  return payload as Record<string, unknown>;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || Array.isArray(value)) return value === null ? 'null' : 'an array';
  return typeof value === 'object' ? 'an object' : String(value);
}
