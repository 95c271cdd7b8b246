import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from '../../core/discord/authorization.ts';
import { discordError, httpStatusError, invalidFormBody, RESTJSONErrorCodes, type FieldError } from '../../core/discord/rest-errors.ts';
import { isSnowflake } from '../../core/discord/snowflake.ts';
import type { AccessGrant, TokenSigner } from '../../gateway-proxy/index.ts';
import { BotSettingsValidationError, replyStoreUnavailable, StoreUnavailableError, withStoreDeadline } from '../../store/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    grant?: AccessGrant;
  }
}

/**
 * Every api route's first step: `Authorization: Bot <guildcast token>` (or `Bearer`, or the bare
 * token, the same tokens the edge accepts) verified into `request.grant`; 401 as Discord answers
 * without a valid one. No `tokens`: the routes are open (API_REQUIRE_TOKEN=false) and see all.
 */
export function requireToken(app: FastifyInstance, tokens: TokenSigner | undefined): void {
  if (!tokens) return;
  app.addHook('onRequest', async (request, reply) => {
    // Already granted by a route's own earlier check (the message routes' HTTP ingest relay tokens).
    if (request.grant) return;
    const token = bearerToken(request.headers.authorization, { bare: true });
    try {
      if (!token) throw new Error('no token');
      request.grant = await tokens.verify(token);
    } catch {
      return reply.code(401).send(httpStatusError(401));
    }
  });
}

/** Whether the request's token covers `guildId` (no grant: token checks are off). */
export function mayRead(request: FastifyRequest, guildId: string | undefined): boolean {
  const guilds = request.grant?.guilds;
  if (guilds === undefined || guilds === '*') return true;
  return guildId !== undefined && guilds.has(guildId);
}

/** A route's snowflake parameter, or Discord's 50035 field error for it. */
export function snowflakeParam(request: FastifyRequest, name: string): { ok: true; value: string } | { ok: false; error: FieldError } {
  const raw = (request.params as Record<string, unknown>)[name];
  if (isSnowflake(raw)) return { ok: true, value: raw };
  return { ok: false, error: { path: [name], code: 'NUMBER_TYPE_COERCE', message: `Value ${JSON.stringify(String(raw))} is not snowflake.` } };
}

/** The state's answer, or StoreUnavailableError once `ms` passed: a request never hangs on the store. */
export const withDeadline = withStoreDeadline;

/** Discord's error bodies for what can go wrong on an api route (the history routes answer the same way). */
export function apiErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof StoreUnavailableError) return replyStoreUnavailable(request, reply, err);
  if (err instanceof BotSettingsValidationError) return reply.code(400).send(invalidFormBody(err.fields));
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply.code(400).send(discordError(RESTJSONErrorCodes.RequestBodyContainsInvalidJSON));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply.code(400).send(invalidFormBody([{ path: [], code: 'CONTENT_TYPE_INVALID', message: "Expected \"Content-Type\" header to be one of {'application/json'}." }]));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply.code(413).send(discordError(RESTJSONErrorCodes.RequestEntityTooLarge, 'Request entity too large'));
  }
  if (err instanceof SyntaxError && err.statusCode === 400) return reply.code(400).send(discordError(RESTJSONErrorCodes.RequestBodyContainsInvalidJSON));
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send(discordError(RESTJSONErrorCodes.GeneralError, err.message));
  request.log.error({ err }, 'api request failed');
  return reply.code(500).send(httpStatusError(500));
}
