import { z } from 'zod';
import { discordError, invalidFormBody, RESTJSONErrorCodes, type DiscordErrorBody, type FieldError } from '../core/discord/rest-errors.ts';
import { snowflakeString, timestampOf } from '../core/discord/snowflake.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';

/**
 * Messages that guildcast itself creates, edits and deletes (HTTP ingest, and the api role's
 * Discord message routes when the simulator plays Discord): Discord's request bodies validated
 * as Discord validates them, the message object Discord answers with, and the event envelopes
 * published for them. One place, so both routes publish exactly the same events.
 */

export const MAX_CONTENT = 2000;
/** Discord's bulk-delete bounds (`POST /channels/{id}/messages/bulk-delete`). */
export const BULK_DELETE_MIN = 2;
export const BULK_DELETE_MAX = 100;

const snowflake = snowflakeString('Value "%s" is not snowflake.');
const EMPTY = 'Cannot send an empty message';
const content = z.string().max(MAX_CONTENT, `Must be ${MAX_CONTENT} or fewer in length.`);
const embeds = z.array(z.looseObject({})).max(10);
const components = z.array(z.looseObject({})).max(40);
const attachments = z.array(z.looseObject({})).max(10);

const createMessageBody = z
  .strictObject({
    content: content.optional(),
    nonce: z.union([z.string().max(25), z.number().int()]).optional(),
    tts: z.boolean().optional(),
    embeds: embeds.optional(),
    allowed_mentions: z.looseObject({}).optional(),
    message_reference: z.looseObject({ message_id: snowflake.optional(), channel_id: snowflake.optional(), guild_id: snowflake.optional() }).optional(),
    components: components.optional(),
    sticker_ids: z.array(snowflake).max(3).optional(),
    attachments: attachments.optional(),
    flags: z.number().int().min(0).optional(),
    enforce_nonce: z.boolean().optional(),
    poll: z.looseObject({}).optional(),
  })
  .refine(
    (b) => Boolean(b.content) || Boolean(b.embeds?.length) || Boolean(b.sticker_ids?.length) || Boolean(b.attachments?.length) || Boolean(b.components?.length) || b.poll !== undefined,
    { message: EMPTY },
  );
export type CreateMessageBody = z.infer<typeof createMessageBody>;

// Discord's edit body: every field optional and nullable (null clears it). Other fields are
// dropped, as Discord ignores them: discord.js sends its create options (tts, enforce_nonce...) on edits too.
const editMessageBody = z.object({
  content: content.nullable().optional(),
  embeds: embeds.nullable().optional(),
  flags: z.number().int().min(0).nullable().optional(),
  allowed_mentions: z.looseObject({}).nullable().optional(),
  components: components.nullable().optional(),
  attachments: attachments.nullable().optional(),
});
export type EditMessageBody = z.infer<typeof editMessageBody>;
/** The fields of the message object an edit body can change (`allowed_mentions` only shapes the edit). */
export const EDITED_FIELDS = ['content', 'embeds', 'components', 'flags', 'attachments'] as const;

const bulkDeleteBody = z.strictObject({
  messages: z
    .array(snowflake)
    .min(BULK_DELETE_MIN, `Must be between ${BULK_DELETE_MIN} and ${BULK_DELETE_MAX} in length.`)
    .max(BULK_DELETE_MAX, `Must be between ${BULK_DELETE_MIN} and ${BULK_DELETE_MAX} in length.`),
});

/** A body's verdict: the parsed body, or the reason (for logs and the dead-letter record) and Discord's error. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; error: DiscordErrorBody };

export const parseCreateMessage = (raw: unknown): Parsed<CreateMessageBody> => parseWith(createMessageBody, raw);
export const parseEditMessage = (raw: unknown): Parsed<EditMessageBody> => parseWith(editMessageBody, raw);
export const parseBulkDelete = (raw: unknown): Parsed<{ messages: string[] }> => parseWith(bulkDeleteBody, raw);

/** `raw` is the body text (HTTP ingest parses it itself, to dead-letter what is not JSON) or already-parsed JSON. */
function parseWith<T>(schema: z.ZodType<T>, raw: unknown): Parsed<T> {
  let json = raw;
  if (typeof raw === 'string') {
    try {
      json = JSON.parse(raw);
    } catch (err) {
      return { ok: false, reason: `body is not JSON: ${(err as Error).message}`, error: discordError(RESTJSONErrorCodes.RequestBodyContainsInvalidJSON) };
    }
  }
  const parsed = schema.safeParse(json ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues;
  const reason = issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  // Discord answers an empty message with its own code rather than a field error.
  if (issues.some((i) => i.message === EMPTY)) return { ok: false, reason, error: discordError(RESTJSONErrorCodes.CannotSendAnEmptyMessage) };
  const fields: FieldError[] = [];
  for (const issue of issues) {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [k]) : [issue.path.map(String)];
    for (const path of paths) fields.push({ path, code: fieldCode(issue), message: issue.code === 'unrecognized_keys' ? 'Unknown field.' : issue.message });
  }
  return { ok: false, reason, error: invalidFormBody(fields) };
}

function fieldCode(issue: z.core.$ZodIssue): string {
  if ((issue.code === 'too_big' || issue.code === 'too_small') && issue.message.startsWith('Must be between')) return 'BASE_TYPE_BAD_LENGTH';
  if (issue.code === 'too_big') return 'BASE_TYPE_MAX_LENGTH';
  if (issue.code === 'too_small') return 'BASE_TYPE_MIN_LENGTH';
  if (issue.code === 'unrecognized_keys') return 'UNKNOWN_FIELD';
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'BASE_TYPE_REQUIRED';
  return 'BASE_TYPE_INVALID';
}

export interface MessageAuthor {
  id: string;
  username: string;
}

/** The message object Discord answers `POST /channels/{id}/messages` with (and MESSAGE_CREATE carries). */
export function messageObject(id: string, channelId: string, guildId: string | undefined, author: MessageAuthor, body: CreateMessageBody) {
  return {
    id,
    type: 0,
    channel_id: channelId,
    ...(guildId && { guild_id: guildId }),
    author: { id: author.id, username: author.username, discriminator: '0', global_name: null, avatar: null, bot: true },
    content: body.content ?? '',
    timestamp: new Date(timestampOf(BigInt(id))).toISOString(),
    edited_timestamp: null,
    tts: body.tts ?? false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: body.embeds ?? [],
    pinned: false,
    flags: body.flags ?? 0,
    components: body.components ?? [],
    ...(body.nonce !== undefined && { nonce: body.nonce }),
    ...(body.message_reference && { message_reference: body.message_reference }),
    ...(body.poll && { poll: body.poll }),
  };
}
export type MessageObject = ReturnType<typeof messageObject>;

/**
 * A stored message with an edit applied, as Discord answers `PATCH` and MESSAGE_UPDATE carries
 * it: the edited fields replaced (null clears to the field's empty value), `edited_timestamp` now.
 */
export function editedMessage(stored: Record<string, unknown>, edit: EditMessageBody, editedAt: Date): Record<string, unknown> {
  const next: Record<string, unknown> = { ...stored, edited_timestamp: editedAt.toISOString() };
  if (edit.content !== undefined) next.content = edit.content ?? '';
  if (edit.embeds !== undefined) next.embeds = edit.embeds ?? [];
  if (edit.components !== undefined) next.components = edit.components ?? [];
  if (edit.flags !== undefined) next.flags = edit.flags ?? 0;
  if (edit.attachments !== undefined) next.attachments = edit.attachments ?? [];
  return next;
}

/** What every envelope built here shares; `eventId` is a fresh snowflake, unique per event. */
export interface EventContext {
  eventId: string;
  channelId: string;
  guildId: string | undefined;
  traceId: string;
  receivedAt?: number;
}

function envelope(type: string, { eventId, channelId, guildId, traceId, receivedAt = Date.now() }: EventContext, d: unknown): EventEnvelope {
  return { v: 1, id: `http:${eventId}`, type, guild_id: guildId, channel_id: channelId, source: 'http', received_at: receivedAt, trace_id: traceId, d };
}

/** MESSAGE_CREATE for a message guildcast created; its id is the event's (`http:<message id>`). */
export function messageCreateEvent(message: MessageObject, context: Omit<EventContext, 'eventId' | 'channelId' | 'guildId'>): EventEnvelope {
  return envelope('MESSAGE_CREATE', { ...context, eventId: message.id, channelId: message.channel_id, guildId: message.guild_id }, message);
}

export function messageUpdateEvent(message: Record<string, unknown>, context: EventContext): EventEnvelope {
  return envelope('MESSAGE_UPDATE', context, message);
}

export function messageDeleteEvent(messageId: string, context: EventContext): EventEnvelope {
  return envelope('MESSAGE_DELETE', context, { id: messageId, channel_id: context.channelId, ...(context.guildId && { guild_id: context.guildId }) });
}

export function messageDeleteBulkEvent(messageIds: readonly string[], context: EventContext): EventEnvelope {
  return envelope('MESSAGE_DELETE_BULK', context, { ids: [...messageIds], channel_id: context.channelId, ...(context.guildId && { guild_id: context.guildId }) });
}
