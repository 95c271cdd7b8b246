import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken } from '../../core/discord/authorization.ts';
import { setRateLimitHeaders, tooManyRequests } from '../../core/discord/rate-limit-headers.ts';
import { httpStatusError } from '../../core/discord/rest-errors.ts';
import { KeyedWindows } from '../../core/rate-limit/fixed-window.ts';

export interface DiscordConventionsOptions {
  /** Requests per window each token (or, without one, each address) may make on one route bucket. */
  rateLimit: { limit: number; windowMs: number };
  now?: () => number;
}

/** Everything Discord libraries talk to; the console, /healthz, /readyz and /metrics are outside it. */
const PREFIX = '/api';
const PRUNE_EVERY_MS = 60_000;
/** Route parameters Discord's buckets are split by ("major parameters"). */
const MAJOR = ['channel_id', 'guild_id', 'webhook_id'] as const;

const underApi = (url: string) => url === PREFIX || url.startsWith(`${PREFIX}/`);

/**
 * Discord's HTTP conventions on every route under `/api` of the process's server, whichever role
 * registered the route (history, guild state, the edge's `/gateway/bot`, the message routes):
 * - `Content-Type: application/json` exactly: discord.py decodes JSON only when the header is
 *   exactly that, and fastify's default adds `; charset=utf-8`;
 * - unknown routes answer Discord's `{"message": "404: Not Found", "code": 0}`;
 * - every answer carries `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket` from a fixed-window
 *   limiter per token and route bucket (split by the major parameter, as Discord's are), and a
 *   request over the limit is answered 429 with `Retry-After` and Discord's body, before the route runs.
 * Installed on the root instance, filtered by path: hooks there reach routes that sibling plugins
 * registered, and the paths outside `/api` keep fastify's defaults.
 */
export async function discordConventions(app: FastifyInstance, { rateLimit, now = Date.now }: DiscordConventionsOptions): Promise<void> {
  const windows = new KeyedWindows(rateLimit.limit, rateLimit.windowMs, now);
  const pruner = setInterval(() => windows.prune(), PRUNE_EVERY_MS);
  pruner.unref();
  app.addHook('onClose', async () => clearInterval(pruner));

  app.addHook('onRequest', async (request, reply) => {
    if (!underApi(request.url)) return;
    const { bucket, key } = bucketOf(request);
    const decision = windows.decide(key);
    setRateLimitHeaders(reply, decision, bucket, now());
    if (!decision.allowed) return tooManyRequests(reply, decision, now());
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!underApi(request.url)) return payload;
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', 'application/json');
    return payload;
  });

  await app.register(
    async (api) => {
      api.setNotFoundHandler(async (_request, reply) => reply.code(404).send(httpStatusError(404)));
    },
    { prefix: PREFIX },
  );
}

/**
 * The request's bucket (its method and route, hashed like Discord's opaque bucket ids) and the
 * limiter key: who asks (a hash of the token, never the token itself, else the address), the
 * bucket, and the major parameter's value.
 */
function bucketOf(request: FastifyRequest): { bucket: string; key: string } {
  const route = request.routeOptions.url ?? 'unknown-route';
  const bucket = createHash('sha256').update(`${request.method} ${route}`).digest('hex').slice(0, 16);
  const params = (request.params ?? {}) as Record<string, unknown>;
  const major = MAJOR.map((name) => params[name]).find((value) => typeof value === 'string') ?? '';
  const token = bearerToken(request.headers.authorization, { bare: true });
  const who = token ? createHash('sha256').update(token).digest('base64url').slice(0, 22) : `ip:${request.ip}`;
  return { bucket, key: `${who}:${bucket}:${major}` };
}
