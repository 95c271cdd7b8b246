import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearerToken } from '../core/discord/authorization.ts';
import { discordError, httpStatusError, invalidFormBody, RESTJSONErrorCodes, type DiscordErrorBody, type FieldError } from '../core/discord/rest-errors.ts';
import { isSnowflake, snowflakeString, timestampOf, type SnowflakeGenerator } from '../core/discord/snowflake.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';
import type { Logger } from '../core/logger.ts';
import { KeyedWindows, type RateLimitDecision } from '../core/rate-limit/fixed-window.ts';
import { PublisherClosedError } from './publisher.ts';
import type { IngestMetrics } from './metrics.ts';
import type { EventSink } from './sink.ts';
import { TRACE_HEADER } from '../core/kafka/headers.ts';

export interface HttpIngestOptions {
  /** Accepted tokens, sent as `Authorization: Bot <token>` (or `Bearer <token>`). */
  tokens: string[];
  rateLimit: { limit: number; windowMs: number };
  sink: EventSink;
  snowflakes: SnowflakeGenerator;
  /** The author HTTP-ingested messages carry. */
  author: { id: string; username: string };
  newTraceId: () => string;
  metrics: IngestMetrics;
  logger: Logger;
}

/** Discord-compatible; `guild_id` is not part of Discord's body, so it travels in this header. */
export const GUILD_ID_HEADER = 'x-guildcast-guild-id';
const MAX_CONTENT = 2000;

const snowflake = snowflakeString('Value "%s" is not snowflake.');
const createMessageBody = z
  .strictObject({
    content: z.string().max(MAX_CONTENT, `Must be ${MAX_CONTENT} or fewer in length.`).optional(),
    nonce: z.union([z.string().max(25), z.number().int()]).optional(),
    tts: z.boolean().optional(),
    embeds: z.array(z.looseObject({})).max(10).optional(),
    allowed_mentions: z.looseObject({}).optional(),
    message_reference: z.looseObject({ message_id: snowflake.optional(), channel_id: snowflake.optional(), guild_id: snowflake.optional() }).optional(),
    components: z.array(z.looseObject({})).max(40).optional(),
    sticker_ids: z.array(snowflake).max(3).optional(),
    attachments: z.array(z.looseObject({})).max(10).optional(),
    flags: z.number().int().min(0).optional(),
    enforce_nonce: z.boolean().optional(),
    poll: z.looseObject({}).optional(),
  })
  .refine((b) => Boolean(b.content) || Boolean(b.embeds?.length) || Boolean(b.sticker_ids?.length) || Boolean(b.components?.length) || b.poll !== undefined, {
    message: 'Cannot send an empty message',
  });
type CreateMessageBody = z.infer<typeof createMessageBody>;

class InvalidBody extends Error {
  constructor(
    readonly reason: string,
    readonly discordBody: DiscordErrorBody,
  ) {
    super(reason);
  }
}

/**
 * HTTP ingest (fastify plugin): `POST /api/v10/channels/:channel_id/messages` with Discord's body.
 * It mints a snowflake, publishes a MESSAGE_CREATE through the same path as gateway dispatches,
 * and answers with the message object once Kafka acknowledged it. Mountable by the api role.
 */
export const httpIngestPlugin: FastifyPluginAsync<HttpIngestOptions> = async (app, options) => {
  const { sink, snowflakes, author, newTraceId, metrics, logger } = options;
  const limiter = new KeyedWindows(options.rateLimit.limit, options.rateLimit.windowMs);
  const tokens = options.tokens.map((t) => Buffer.from(t));

  // Bodies are parsed here, not by fastify, so one that is not JSON is dead-lettered like any other bad input.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.addHook('onResponse', async (_request, reply) => {
    metrics.httpRequests.inc({ status: String(reply.statusCode) });
  });

  app.post<{ Params: { channel_id: string }; Body: string | undefined }>('/api/v10/channels/:channel_id/messages', async (request, reply) => {
    const token = authenticate(request, tokens);
    if (token === undefined) return reply.code(401).send(httpStatusError(401));
    const decision = limiter.decide(token);
    setRateLimitHeaders(reply, decision);
    if (!decision.allowed) return tooManyRequests(reply, decision);

    const traceId = newTraceId();
    reply.header(TRACE_HEADER, traceId);
    const raw = typeof request.body === 'string' ? request.body : '';
    const guildHeader = request.headers[GUILD_ID_HEADER];
    let body: CreateMessageBody;
    try {
      if (!isSnowflake(request.params.channel_id)) throw new InvalidBody(`channel id ${JSON.stringify(request.params.channel_id)} is not a snowflake`, invalidFormBody([{ path: ['channel_id'], code: 'NUMBER_TYPE_COERCE', message: 'Value is not snowflake.' }]));
      if (guildHeader !== undefined && !isSnowflake(guildHeader)) throw new InvalidBody(`${GUILD_ID_HEADER} is not a snowflake`, invalidFormBody([{ path: ['guild_id'], code: 'NUMBER_TYPE_COERCE', message: 'Value is not snowflake.' }]));
      body = parseBody(raw);
    } catch (err) {
      if (!(err instanceof InvalidBody)) throw err;
      sink.reject({
        stage: 'ingest.http',
        reason: err.reason,
        type: 'MESSAGE_CREATE',
        key: isSnowflake(request.params.channel_id) ? request.params.channel_id : undefined,
        value: raw,
        traceId,
        headers: { 'x-guildcast-http-path': request.url },
      });
      return reply.code(400).send(err.discordBody);
    }
    if (sink.isFull()) return reply.code(503).header('retry-after', '1').send(discordError(RESTJSONErrorCodes.GeneralError, 'Ingest is overloaded, try again shortly.'));

    const id = snowflakes.next();
    const channelId = request.params.channel_id;
    const guildId = guildHeader as string | undefined;
    const message = messageObject(String(id), channelId, guildId, author, body);
    const envelope: EventEnvelope = {
      v: 1,
      id: `http:${id}`,
      type: 'MESSAGE_CREATE',
      guild_id: guildId,
      channel_id: channelId,
      source: 'http',
      received_at: Date.now(),
      trace_id: traceId,
      d: message,
    };
    metrics.received.inc({ type: 'MESSAGE_CREATE', source: 'http' });
    try {
      await sink.eventAcked(envelope, guildId ?? channelId);
    } catch (err) {
      logger.error({ err, trace_id: traceId }, 'HTTP message was not acknowledged by Kafka');
      const closing = err instanceof PublisherClosedError;
      return reply.code(503).header('retry-after', '1').send(discordError(RESTJSONErrorCodes.GeneralError, closing ? 'Ingest is shutting down.' : 'Kafka did not acknowledge the message.'));
    }
    return reply.code(200).send(message);
  });
};

function authenticate(request: FastifyRequest, tokens: Buffer[]): string | undefined {
  const token = bearerToken(request.headers.authorization);
  if (token === undefined) return undefined;
  const given = Buffer.from(token);
  return tokens.some((t) => t.length === given.length && timingSafeEqual(t, given)) ? token : undefined;
}

function parseBody(raw: string): CreateMessageBody {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new InvalidBody(`body is not JSON: ${(err as Error).message}`, discordError(RESTJSONErrorCodes.RequestBodyContainsInvalidJSON));
  }
  const parsed = createMessageBody.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const reason = issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  if (issues.some((i) => i.message === 'Cannot send an empty message')) throw new InvalidBody(reason, discordError(RESTJSONErrorCodes.CannotSendAnEmptyMessage));
  const fields: FieldError[] = [];
  for (const issue of issues) {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [k]) : [issue.path.map(String)];
    for (const path of paths) fields.push({ path, code: discordCode(issue.code), message: issue.code === 'unrecognized_keys' ? 'Unknown field.' : issue.message });
  }
  throw new InvalidBody(reason, invalidFormBody(fields));
}

function discordCode(zodCode: string): string {
  if (zodCode === 'too_big') return 'BASE_TYPE_MAX_LENGTH';
  if (zodCode === 'unrecognized_keys') return 'UNKNOWN_FIELD';
  return 'BASE_TYPE_INVALID';
}

function messageObject(id: string, channelId: string, guildId: string | undefined, author: { id: string; username: string }, body: CreateMessageBody) {
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

function setRateLimitHeaders(reply: FastifyReply, d: RateLimitDecision): void {
  const resetAfter = Math.max(0, d.resetAt - Date.now()) / 1000;
  reply.headers({
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': (d.resetAt / 1000).toFixed(3),
    'x-ratelimit-reset-after': resetAfter.toFixed(3),
    'x-ratelimit-bucket': 'guildcast-http-ingest',
  });
}

function tooManyRequests(reply: FastifyReply, d: RateLimitDecision): FastifyReply {
  const retryAfter = Math.max(0.001, (d.resetAt - Date.now()) / 1000);
  return reply
    .code(429)
    .headers({ 'retry-after': String(Math.ceil(retryAfter)), 'x-ratelimit-scope': 'user' })
    .send({ message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global: false });
}
