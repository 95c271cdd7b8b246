import fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { discordError, httpStatusError, invalidFormBody, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import type { Logger } from '../../core/logger.ts';
import { StoreUnavailableError, StoreValidationError } from '../errors.ts';
import type { MessageStore } from '../repository.ts';
import { parseHistoryRequest, parseMessageRequest } from './request.ts';
import { replyStoreUnavailable, withStoreDeadline } from './unavailable.ts';

export interface HistoryRoutesOptions {
  store: Pick<MessageStore, 'history' | 'getMessage'>;
  /** Longest a request may wait for the store before it is answered 503 (default 5000 ms). */
  deadlineMs?: number;
}

/**
 * Discord's channel history endpoints over the store: mount under `/api/v10`. Answers are always
 * JSON in Discord's shapes: 400 with code 50035 for bad input, 404 with code 10008 for an unknown
 * message, and 503 with Retry-After when the database cannot answer within the deadline.
 */
export const historyRoutes: FastifyPluginAsync<HistoryRoutesOptions> = async (app, { store, deadlineMs = 5000 }) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof StoreUnavailableError) return replyStoreUnavailable(request, reply, err);
    // Not tied to one field: a top-level `_errors` list.
    if (err instanceof StoreValidationError)
      return reply.code(400).send(invalidFormBody(err.failures.map((f) => ({ path: [], code: 'BASE_TYPE_INVALID', message: f.reason }))));
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
      return reply.code(err.statusCode).send(discordError(RESTJSONErrorCodes.GeneralError, err.message));
    request.log.error({ err }, 'history request failed');
    return reply.code(500).send(httpStatusError(500));
  });

  app.get('/channels/:channel_id/messages', async (request, reply) => {
    const parsed = parseHistoryRequest(request.params as Record<string, unknown>, request.query as Record<string, unknown>);
    if (!parsed.ok) return reply.code(400).send(invalidFormBody(parsed.errors));
    return withDeadline(store.history(parsed.value.channelId, parsed.value.page), deadlineMs);
  });

  app.get('/channels/:channel_id/messages/:message_id', async (request, reply) => {
    const parsed = parseMessageRequest(request.params as Record<string, unknown>);
    if (!parsed.ok) return reply.code(400).send(invalidFormBody(parsed.errors));
    const message = await withDeadline(store.getMessage(parsed.value.channelId, parsed.value.messageId), deadlineMs);
    if (message === undefined) return reply.code(404).send(discordError(RESTJSONErrorCodes.UnknownMessage));
    return message;
  });
};

/** A standalone server with the history routes under `/api/v10` (for tests and small deployments). */
export async function createHistoryApi(options: HistoryRoutesOptions & { logger?: Logger }): Promise<FastifyInstance> {
  const { logger, ...routes } = options;
  const app = (logger ? fastify({ loggerInstance: logger }) : fastify()) as FastifyInstance;
  await app.register(historyRoutes, { ...routes, prefix: '/api/v10' });
  return app;
}

/** The store's answer, or StoreUnavailableError once `ms` have passed: a request never hangs. */
const withDeadline = withStoreDeadline;
