import type { FastifyReply, FastifyRequest } from 'fastify';
import { withTimeout } from '../../core/async/with-timeout.ts';
import { discordError, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import { StoreUnavailableError } from '../errors.ts';

const RETRY_AFTER_SECONDS = 1;

/** The store's answer, or StoreUnavailableError once `ms` passed: a request never hangs on the store. */
export function withStoreDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return withTimeout(work, ms, () => new StoreUnavailableError(`no answer from the store within ${ms} ms`));
}

/** What every REST route answers when the store cannot: 503 with Retry-After, in Discord's shape, so clients back off and retry. */
export function replyStoreUnavailable(request: FastifyRequest, reply: FastifyReply, err: StoreUnavailableError): FastifyReply {
  request.log.warn({ err }, 'store unavailable');
  return reply
    .code(503)
    .header('retry-after', String(RETRY_AFTER_SECONDS))
    .send(discordError(RESTJSONErrorCodes.GeneralError, 'Service unavailable', { retry_after: RETRY_AFTER_SECONDS }));
}
