import type { ProxyResponse } from './types.ts';

/** Why the proxy answered a 429 itself instead of asking Discord. */
export type LocalLimitReason = 'max_wait' | 'queue_full' | 'owner_unreachable';

/**
 * A 429 as Discord shapes it (`Retry-After`, `X-RateLimit-*`, `{message, retry_after, global}`), so
 * an unmodified client library waits `retryAfterMs` and tries again rather than looping.
 * `x-guildcast-proxy` says it came from the proxy (nirn-proxy's `generated-by-proxy`).
 */
export function rateLimited(retryAfterMs: number, reason: LocalLimitReason, { global = false, bucket }: { global?: boolean; bucket?: string } = {}): ProxyResponse {
  const seconds = Math.max(0.001, retryAfterMs / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'retry-after': String(Math.ceil(seconds)),
    'x-ratelimit-limit': '1',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': ((Date.now() + retryAfterMs) / 1000).toFixed(3),
    'x-ratelimit-reset-after': seconds.toFixed(3),
    'x-ratelimit-scope': global ? 'global' : 'user',
    'x-guildcast-proxy': reason,
  };
  if (global) headers['x-ratelimit-global'] = 'true';
  if (bucket) headers['x-ratelimit-bucket'] = bucket;
  const body = { message: 'You are being rate limited.', retry_after: Number(seconds.toFixed(3)), global };
  return { status: 429, headers, body: Buffer.from(JSON.stringify(body)) };
}
