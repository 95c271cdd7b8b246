import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isConnectionDispatch } from '../core/events/connection-events.ts';
import { routingKey, type EventEnvelope } from '../core/events/envelope.ts';
import { isSnowflake, snowflakeString } from '../core/discord/snowflake.ts';

/**
 * Turns a gateway dispatch into the v1 event envelope (ARCHITECTURE.md, "Event envelope"), or says
 * why it cannot: the reason goes into the dead-letter record. Validation is deliberately shallow:
 * it checks what routing and the downstream roles rely on (ids they key and store by), and keeps
 * the rest of `d` exactly as Discord sent it.
 */
export interface GatewayDispatch {
  t: string;
  s: number;
  d: unknown;
}

export interface DispatchOrigin {
  shard: number;
  sessionId: string;
}

export type BuiltEvent =
  | { ok: true; envelope: EventEnvelope; key: string | undefined }
  | { ok: false; internal?: false; reason: string; key: string | undefined; traceId: string }
  /**
   * A dispatch of ingest's own connection (READY, RESUMED, ...; core/events/connection-events.ts):
   * it takes a place in the shard's sequence but is nobody's event, and is neither published nor
   * dead-lettered (its payload is the bot's session).
   */
  | { ok: false; internal: true; type: string };

const snowflake = snowflakeString();
const withId = z.looseObject({ id: snowflake });
const inChannel = z.looseObject({ channel_id: snowflake });

/** What each dispatch type must carry; types not listed only need an object `d` with valid ids. */
const dispatchShapes: Record<string, z.ZodType> = {
  MESSAGE_CREATE: z.looseObject({ id: snowflake, channel_id: snowflake, author: z.looseObject({ id: snowflake }) }),
  MESSAGE_UPDATE: withId.and(inChannel),
  MESSAGE_DELETE: withId.and(inChannel),
  MESSAGE_DELETE_BULK: z.looseObject({ ids: z.array(snowflake).min(1), channel_id: snowflake }),
  MESSAGE_REACTION_ADD: z.looseObject({ user_id: snowflake, channel_id: snowflake, message_id: snowflake, emoji: z.looseObject({}) }),
  MESSAGE_REACTION_REMOVE: z.looseObject({ user_id: snowflake, channel_id: snowflake, message_id: snowflake, emoji: z.looseObject({}) }),
  MESSAGE_REACTION_REMOVE_ALL: z.looseObject({ channel_id: snowflake, message_id: snowflake }),
  TYPING_START: z.looseObject({ channel_id: snowflake, user_id: snowflake }),
  PRESENCE_UPDATE: z.looseObject({ user: z.looseObject({ id: snowflake }) }),
  GUILD_CREATE: withId,
  GUILD_UPDATE: withId,
  GUILD_DELETE: withId,
  CHANNEL_CREATE: withId,
  CHANNEL_UPDATE: withId,
  CHANNEL_DELETE: withId,
  THREAD_CREATE: withId,
  THREAD_UPDATE: withId,
  THREAD_DELETE: withId,
};

/** Dispatches whose own `id` is the guild, or the channel, they concern. */
const guildIsId = new Set(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE']);
const channelIsId = new Set(['CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE']);

const DISPATCH_NAME = /^[A-Z0-9_]{1,64}$/;

export function gatewayEventId(origin: DispatchOrigin, seq: number): string {
  return `gw:${origin.shard}:${origin.sessionId}:${seq}`;
}

export function envelopeFromDispatch(dispatch: GatewayDispatch, origin: DispatchOrigin, receivedAt: number, traceId: string): BuiltEvent {
  const { t, s, d } = dispatch;
  if (isConnectionDispatch(t)) return { ok: false, internal: true, type: t };
  const ids = routingIds(t, d);
  const fail = (reason: string): BuiltEvent => ({ ok: false, reason, key: ids.validKey, traceId });
  if (typeof t !== 'string' || !DISPATCH_NAME.test(t)) return fail(`dispatch name ${JSON.stringify(t)} is not an upper-case event name`);
  if (!Number.isSafeInteger(s) || s < 0) return fail(`sequence ${JSON.stringify(s)} is not a non-negative integer`);
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return fail(`${t}: d is not an object`);
  const shape = dispatchShapes[t];
  if (shape) {
    const parsed = shape.safeParse(d);
    if (!parsed.success) return fail(`${t}: ${parsed.error.issues.map((i) => `d.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  if (ids.problem) return fail(`${t}: ${ids.problem}`);
  const envelope: EventEnvelope = {
    v: 1,
    id: gatewayEventId(origin, s),
    type: t,
    guild_id: ids.guildId,
    channel_id: ids.channelId,
    source: 'gateway',
    shard: origin.shard,
    session_id: origin.sessionId,
    seq: s,
    received_at: receivedAt,
    trace_id: traceId,
    d,
  };
  return { ok: true, envelope, key: routingKey(envelope) };
}

function routingIds(t: unknown, d: unknown) {
  const record = typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : {};
  const guild = guildIsId.has(t as string) ? record.id : record.guild_id;
  const channel = channelIsId.has(t as string) ? record.id : record.channel_id;
  let problem: string | undefined;
  if (guild != null && !isSnowflake(guild)) problem = `guild id ${JSON.stringify(guild)} is not a snowflake`;
  else if (channel != null && !isSnowflake(channel)) problem = `channel id ${JSON.stringify(channel)} is not a snowflake`;
  const guildId = isSnowflake(guild) ? guild : undefined;
  const channelId = isSnowflake(channel) ? channel : undefined;
  return { guildId, channelId, validKey: guildId ?? channelId, problem };
}

/**
 * Correlation ids: unique per process by construction (a random prefix and a counter), and far
 * cheaper than a UUID per event at gateway rates.
 */
export function traceIdSource(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let counter = 0;
  return () => `${prefix}-${(counter++).toString(36)}`;
}
