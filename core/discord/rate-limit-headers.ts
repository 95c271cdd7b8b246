import type { FastifyReply } from 'fastify';
import type { RateLimitDecision } from '../rate-limit/fixed-window.ts';

/**
 * Discord's rate-limit headers for a limiter's decision, so clients' own limiters (discord.js's
 * per-bucket queues, discord.py's) pace themselves instead of discovering the limit by 429s.
 */
export function setRateLimitHeaders(reply: FastifyReply, d: RateLimitDecision, bucket: string, now = Date.now()): void {
  reply.headers({
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': (d.resetAt / 1000).toFixed(3),
    'x-ratelimit-reset-after': (Math.max(0, d.resetAt - now) / 1000).toFixed(3),
    'x-ratelimit-bucket': bucket,
  });
}

/** Discord's 429: `Retry-After` in whole seconds, the exact wait in the body, scope `user` (the token's own budget). */
export function tooManyRequests(reply: FastifyReply, d: RateLimitDecision, now = Date.now()): FastifyReply {
  const retryAfter = Math.max(0.001, (d.resetAt - now) / 1000);
  return reply
    .code(429)
    .headers({ 'retry-after': String(Math.ceil(retryAfter)), 'x-ratelimit-scope': 'user' })
    .send({ message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global: false });
}
