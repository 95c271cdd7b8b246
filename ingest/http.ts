import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { bearerToken } from '../core/discord/authorization.ts';
import { discordError, httpStatusError, invalidFormBody, RESTJSONErrorCodes, type DiscordErrorBody } from '../core/discord/rest-errors.ts';
import { isSnowflake, type SnowflakeGenerator } from '../core/discord/snowflake.ts';
import { messageCreateEvent, messageObject, parseCreateMessage, type CreateMessageBody } from './message-events.ts';
import type { Logger } from '../core/logger.ts';
import { KeyedWindows } from '../core/rate-limit/fixed-window.ts';
import { setRateLimitHeaders, tooManyRequests } from '../core/discord/rate-limit-headers.ts';
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
    setRateLimitHeaders(reply, decision, 'guildcast-http-ingest');
    if (!decision.allowed) return tooManyRequests(reply, decision);

    const traceId = newTraceId();
    reply.header(TRACE_HEADER, traceId);
    const raw = typeof request.body === 'string' ? request.body : '';
    const guildHeader = request.headers[GUILD_ID_HEADER];
    let body: CreateMessageBody;
    try {
      if (!isSnowflake(request.params.channel_id)) throw new InvalidBody(`channel id ${JSON.stringify(request.params.channel_id)} is not a snowflake`, invalidFormBody([{ path: ['channel_id'], code: 'NUMBER_TYPE_COERCE', message: 'Value is not snowflake.' }]));
      if (guildHeader !== undefined && !isSnowflake(guildHeader)) throw new InvalidBody(`${GUILD_ID_HEADER} is not a snowflake`, invalidFormBody([{ path: ['guild_id'], code: 'NUMBER_TYPE_COERCE', message: 'Value is not snowflake.' }]));
      const parsed = parseCreateMessage(raw);
      if (!parsed.ok) throw new InvalidBody(parsed.reason, parsed.error);
      body = parsed.value;
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
    const envelope = messageCreateEvent(message, { traceId });
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
