import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from '../../core/discord/authorization.ts';
import { discordError, invalidFormBody, RESTJSONErrorCodes, type DiscordErrorBody } from '../../core/discord/rest-errors.ts';
import { timestampOf, type SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import type { EventEnvelope } from '../../core/events/envelope.ts';
import { TRACE_HEADER } from '../../core/kafka/headers.ts';
import type { AccessGrant, BotUser, TokenSigner } from '../../gateway-proxy/index.ts';
import {
  EDITED_FIELDS,
  editedMessage,
  messageCreateEvent,
  messageDeleteBulkEvent,
  messageDeleteEvent,
  messageObject,
  messageUpdateEvent,
  parseBulkDelete,
  parseCreateMessage,
  parseEditMessage,
  type EventContext,
  type Parsed,
} from '../../ingest/message-events.ts';
import type { CachedGuildState, MessageStore } from '../../store/index.ts';
import { apiErrorHandler, requireToken, snowflakeParam, withDeadline } from './api-access.ts';
import { requestUser } from './discord-routes.ts';
import { RecentMessages } from './recent-messages.ts';
import type { DiscordForwarder, EventPublisher } from './message-backend.ts';

export interface MessageRoutesOptions {
  state: Pick<CachedGuildState, 'guildOfChannel'>;
  store: Pick<MessageStore, 'getMessage'>;
  /** Unset: no token needed (API_REQUIRE_TOKEN=false), every known channel may be acted in. */
  tokens?: TokenSigner;
  /** Either guildcast is the source of truth (publish events) or Discord is (forward to it). */
  backend: { publisher: EventPublisher } | { forwarder: DiscordForwarder };
  snowflakes: SnowflakeGenerator;
  newTraceId: () => string;
  deadlineMs?: number;
  /**
   * HTTP ingest's shared secrets (INGEST_HTTP_TOKEN), accepted here too so one process serves one
   * `POST /channels/:id/messages`: a relay acts in every guild the state knows, as `author`.
   */
  relay?: { tokens: readonly string[]; author: BotUser };
  /** How long an edit or delete of a message this api minted waits for the store to have it (default 3000 ms). */
  settleMs?: number;
  now?: () => number;
}

const UNKNOWN_CHANNEL = discordError(RESTJSONErrorCodes.UnknownChannel);
const UNKNOWN_MESSAGE = discordError(RESTJSONErrorCodes.UnknownMessage);
const MISSING_ACCESS = discordError(RESTJSONErrorCodes.MissingAccess);
const NOT_AUTHOR = discordError(RESTJSONErrorCodes.CannotEditMessageAuthoredByAnotherUser);
const TOO_OLD = discordError(RESTJSONErrorCodes.OneOfTheMessagesProvidedWasTooOldForBulkDelete);
const BULK_DELETE_MAX_AGE_MS = 14 * 86_400_000;
const SETTLE_POLL_MS = 50;

type Params = { channel_id?: string; message_id?: string };
type Refusal = { status: number; body: DiscordErrorBody };
type Target = { channelId: string; guildId: string; messageId?: string };

/**
 * Discord's message routes, acting with the same guildcast token the edge accepts:
 * `POST /channels/:id/messages`, `PATCH` and `DELETE /channels/:id/messages/:id` and
 * `POST /channels/:id/messages/bulk-delete`. Every check runs before anything is published:
 * the token (401), the ids (50035), the channel (404 10003 when the guild state does not know it,
 * 403 50001 when its guild is outside the token's grant), the body (50035 per field, 50006 empty),
 * the message (404 10008). Then one event per action, acknowledged by Kafka before the answer:
 * a request answered 2xx is durable, one answered otherwise changed nothing.
 */
export const messageRoutes: FastifyPluginAsync<MessageRoutesOptions> = async (app, options) => {
  const { state, store, tokens, backend, snowflakes, newTraceId, relay, deadlineMs = 5000, settleMs = 3000, now = Date.now } = options;
  const recent = new RecentMessages(10_000);
  app.setErrorHandler(apiErrorHandler);
  if (relay) {
    const secrets = relay.tokens.map((t) => Buffer.from(t));
    const grant: AccessGrant = { subject: relay.author.id, username: relay.author.username, guilds: '*', expiresAt: new Date(8.64e15) };
    app.addHook('onRequest', async (request) => {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined) return;
      const given = Buffer.from(token);
      if (secrets.some((s) => s.length === given.length && timingSafeEqual(s, given))) request.grant = grant;
    });
  }
  requireToken(app, tokens);

  /** The channel (and message) the request names, or Discord's refusal. */
  async function target(request: FastifyRequest): Promise<Target | Refusal> {
    const channel = snowflakeParam(request, 'channel_id');
    if (!channel.ok) return { status: 400, body: invalidFormBody([channel.error]) };
    let messageId: string | undefined;
    if ((request.params as Params).message_id !== undefined) {
      const message = snowflakeParam(request, 'message_id');
      if (!message.ok) return { status: 400, body: invalidFormBody([message.error]) };
      messageId = message.value;
    }
    const guildId = await withDeadline(state.guildOfChannel(channel.value), deadlineMs);
    if (guildId === undefined) return { status: 404, body: UNKNOWN_CHANNEL };
    const guilds = request.grant?.guilds;
    if (guilds !== undefined && guilds !== '*' && !guilds.has(guildId)) return { status: 403, body: MISSING_ACCESS };
    return { channelId: channel.value, guildId, ...(messageId !== undefined && { messageId }) };
  }

  /** The message as last written: this process's own latest version, else the store's (waiting briefly for one just minted). */
  async function currentMessage(channelId: string, messageId: string): Promise<Record<string, unknown> | undefined> {
    const mine = recent.get(channelId, messageId);
    if (mine === 'deleted') return undefined;
    const stored = await withDeadline(store.getMessage(channelId, messageId), deadlineMs);
    if (stored !== undefined) return mine ?? (stored as unknown as Record<string, unknown>);
    if (mine) return mine;
    // Minted moments ago (by another api process): the store is a fanout hop behind the answer
    // that carried its id, so a client editing right after sending waits for it instead of a 404.
    const age = now() - timestampOf(BigInt(messageId));
    for (let waited = 0; age >= 0 && age + waited < settleMs; waited += SETTLE_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      const later = await withDeadline(store.getMessage(channelId, messageId), deadlineMs);
      if (later !== undefined) return later as unknown as Record<string, unknown>;
    }
    return undefined;
  }

  async function publish(reply: FastifyReply, envelope: EventEnvelope, guildId: string): Promise<boolean> {
    if (!('publisher' in backend)) throw new Error('publish without a publisher');
    reply.header(TRACE_HEADER, envelope.trace_id);
    try {
      await backend.publisher.publish(envelope, guildId);
      return true;
    } catch (err) {
      reply.log.error({ err, trace_id: envelope.trace_id }, 'message event was not acknowledged by Kafka');
      void reply.code(503).header('retry-after', '1').send(discordError(RESTJSONErrorCodes.GeneralError, 'Kafka did not acknowledge the change; nothing was applied.'));
      return false;
    }
  }

  /** With DISCORD_TOKEN: Discord decides; its answer (status, rate-limit headers, body) goes back as is. */
  async function forward(request: FastifyRequest, reply: FastifyReply, forwarder: DiscordForwarder) {
    const path = request.url.replace(/^\/api\/v\d+/, '').split('?')[0]!;
    const reason = request.headers['x-audit-log-reason'];
    const answer = await forwarder.forward({
      method: request.method as 'POST' | 'PATCH' | 'DELETE',
      path,
      ...(request.body !== undefined && { body: request.body }),
      ...(typeof reason === 'string' && { headers: { 'x-audit-log-reason': reason } }),
    });
    reply.code(answer.status).headers(answer.headers);
    return answer.status === 204 || answer.body.length === 0 ? reply.send() : reply.send(answer.body);
  }

  const context = (t: Target): EventContext => ({ eventId: String(snowflakes.next()), channelId: t.channelId, guildId: t.guildId, traceId: newTraceId(), receivedAt: now() });
  const refuse = (reply: FastifyReply, r: Refusal) => reply.code(r.status).send(r.body);
  const invalid = (reply: FastifyReply, parsed: Extract<Parsed<unknown>, { ok: false }>) => reply.code(400).send(parsed.error);

  app.post('/channels/:channel_id/messages', async (request, reply) => {
    const t = await target(request);
    if ('status' in t) return refuse(reply, t);
    const body = parseCreateMessage(request.body);
    if (!body.ok) return invalid(reply, body);
    if ('forwarder' in backend) return forward(request, reply, backend.forwarder);
    const message = messageObject(String(snowflakes.next()), t.channelId, t.guildId, requestUser(request), body.value);
    if (!(await publish(reply, messageCreateEvent(message, { traceId: newTraceId(), receivedAt: now() }), t.guildId))) return reply;
    recent.set(t.channelId, message.id, message);
    return message;
  });

  app.patch('/channels/:channel_id/messages/:message_id', async (request, reply) => {
    const t = await target(request);
    if ('status' in t) return refuse(reply, t);
    const body = parseEditMessage(request.body);
    if (!body.ok) return invalid(reply, body);
    if ('forwarder' in backend) return forward(request, reply, backend.forwarder);
    const current = await currentMessage(t.channelId, t.messageId!);
    if (current === undefined) return reply.code(404).send(UNKNOWN_MESSAGE);
    if ((current.author as { id?: unknown } | undefined)?.id !== requestUser(request).id) return reply.code(403).send(NOT_AUTHOR);
    const edited = editedMessage(current, body.value, new Date(now()));
    // The event carries only what changed (as Discord's partial MESSAGE_UPDATEs do): an edit that
    // reaches the store before an earlier one cannot write back the earlier one's old fields.
    const changed = Object.fromEntries(EDITED_FIELDS.filter((field) => body.value[field] !== undefined).map((field) => [field, edited[field]]));
    const partial = { id: t.messageId, channel_id: t.channelId, guild_id: t.guildId, author: current.author, edited_timestamp: edited.edited_timestamp, ...changed };
    if (!(await publish(reply, messageUpdateEvent(partial, context(t)), t.guildId))) return reply;
    recent.set(t.channelId, t.messageId!, edited);
    return edited;
  });

  app.delete('/channels/:channel_id/messages/:message_id', async (request, reply) => {
    const t = await target(request);
    if ('status' in t) return refuse(reply, t);
    if ('forwarder' in backend) return forward(request, reply, backend.forwarder);
    if ((await currentMessage(t.channelId, t.messageId!)) === undefined) return reply.code(404).send(UNKNOWN_MESSAGE);
    if (!(await publish(reply, messageDeleteEvent(t.messageId!, context(t)), t.guildId))) return reply;
    recent.set(t.channelId, t.messageId!, 'deleted');
    return reply.code(204).send();
  });

  app.post('/channels/:channel_id/messages/bulk-delete', async (request, reply) => {
    const t = await target(request);
    if ('status' in t) return refuse(reply, t);
    const body = parseBulkDelete(request.body);
    if (!body.ok) return invalid(reply, body);
    if (body.value.messages.some((id) => now() - timestampOf(BigInt(id)) > BULK_DELETE_MAX_AGE_MS)) return reply.code(400).send(TOO_OLD);
    if ('forwarder' in backend) return forward(request, reply, backend.forwarder);
    const ids = [...new Set(body.value.messages)];
    if (!(await publish(reply, messageDeleteBulkEvent(ids, context(t)), t.guildId))) return reply;
    for (const id of ids) recent.set(t.channelId, id, 'deleted');
    return reply.code(204).send();
  });
};
