import { GlobalBudget } from './global-budget.ts';
import { rateLimited } from './rate-limited.ts';
import type { RouteKey } from './routes.ts';
import { SerialQueue } from './serial-queue.ts';
import type { ProxyRequest, ProxyResponse } from './types.ts';
import type { Upstream } from './upstream.ts';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = { now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

/** Added to every reset Discord announces: its clock and ours, and the way there, differ by a little. */
const RESET_MARGIN_MS = 50;
/** A 429 without a usable Retry-After still holds the bucket this long, so a bad answer cannot start a loop. */
const MIN_RETRY_AFTER_MS = 1_000;

interface BucketState {
  limit: number;
  remaining: number;
  resetAt: number;
  /** Set by a 429: nothing of this bucket goes out before it. */
  blockedUntil: number;
}

export interface LocalLimiterOptions {
  upstream: Upstream;
  global: GlobalBudget;
  maxWaitMs: number;
  queueMax: number;
  clock?: Clock;
  onUpstream?: (response: ProxyResponse, route: RouteKey) => void;
  onLocal429?: (reason: 'max_wait' | 'queue_full') => void;
}

/**
 * Discord's per-route buckets, for the requests this node owns. A bucket is `hash:major` once
 * `X-RateLimit-Bucket` named the hash for `method:route`, and `method:route:major` before; each
 * bucket sends one request at a time (so `remaining` is never raced), waiting for its reset, for
 * a 429's `Retry-After` and for this node's share of the global budget. A request whose turn comes
 * later than `maxWaitMs` after it arrived is answered a 429 at once: the caller retries later,
 * and Discord never sees a request the proxy knows will be refused.
 */
export class LocalLimiter {
  private readonly hashes = new Map<string, string>();
  private readonly buckets = new Map<string, BucketState>();
  private readonly queues = new Map<string, SerialQueue>();
  private readonly clock: Clock;

  constructor(private readonly options: LocalLimiterOptions) {
    this.clock = options.clock ?? realClock;
  }

  /** Requests holding or waiting for a bucket. */
  get depth(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  bucketOf(method: string, route: RouteKey): string {
    const routeId = `${method}:${route.bucketRoute}`;
    const hash = this.hashes.get(routeId);
    return hash === undefined ? `${routeId}:${route.major}` : `${hash}:${route.major}`;
  }

  async forward(request: ProxyRequest, route: RouteKey): Promise<ProxyResponse> {
    const { clock } = this;
    const arrivedAt = clock.now();
    for (;;) {
      const id = this.bucketOf(request.method, route);
      let queue = this.queues.get(id);
      if (!queue) this.queues.set(id, (queue = new SerialQueue()));
      if (queue.length >= this.options.queueMax) {
        this.options.onLocal429?.('queue_full');
        return rateLimited(Math.max(MIN_RETRY_AFTER_MS, this.waitMs(id)), 'queue_full', { bucket: id });
      }
      const release = await queue.acquire();
      try {
        // The first answer of a route can name its hash while others waited under the route's
        // provisional id: they move to the real bucket's queue instead of racing it.
        if (this.bucketOf(request.method, route) !== id) continue;
        for (let wait = this.waitMs(id); wait > 0; wait = this.waitMs(id)) {
          const waited = clock.now() - arrivedAt;
          if (waited + wait > this.options.maxWaitMs) {
            this.options.onLocal429?.('max_wait');
            return rateLimited(wait, 'max_wait', { bucket: id, global: this.globalWait() >= wait });
          }
          await clock.sleep(wait);
        }
        const slot = this.options.global.take();
        const state = this.buckets.get(id);
        if (state) state.remaining--;
        let response: ProxyResponse;
        try {
          response = await this.options.upstream(request);
        } finally {
          this.options.global.finish(slot, clock.now());
        }
        this.learn(request.method, route, id, response);
        this.options.onUpstream?.(response, route);
        return response;
      } finally {
        release();
        if (queue.length === 0 && this.queues.get(id) === queue) this.queues.delete(id);
      }
    }
  }

  private globalWait(): number {
    return this.options.global.waitMs(this.clock.now());
  }

  private waitMs(id: string): number {
    const now = this.clock.now();
    const state = this.buckets.get(id);
    let wait = this.globalWait();
    if (!state) return wait;
    if (now >= state.resetAt && state.remaining < state.limit) state.remaining = state.limit;
    if (state.remaining <= 0) wait = Math.max(wait, state.resetAt - now);
    return Math.max(wait, state.blockedUntil - now);
  }

  private learn(method: string, route: RouteKey, id: string, response: ProxyResponse): void {
    const now = this.clock.now();
    const h = response.headers;
    let bucketId = id;
    const hash = h['x-ratelimit-bucket'];
    if (hash) {
      this.hashes.set(`${method}:${route.bucketRoute}`, hash);
      bucketId = `${hash}:${route.major}`;
    }
    let state = this.buckets.get(bucketId) ?? this.buckets.get(id);
    const limit = Number(h['x-ratelimit-limit']);
    const remaining = Number(h['x-ratelimit-remaining']);
    const resetAfter = Number(h['x-ratelimit-reset-after']);
    if (Number.isFinite(limit) && Number.isFinite(remaining) && Number.isFinite(resetAfter) && h['x-ratelimit-limit'] !== undefined) {
      state ??= { limit, remaining, resetAt: 0, blockedUntil: 0 };
      state.limit = limit;
      state.remaining = remaining;
      state.resetAt = now + resetAfter * 1000 + RESET_MARGIN_MS;
    }
    if (response.status === 429) {
      const retryAfterMs = retryAfterOf(response);
      const until = now + (retryAfterMs > 0 ? retryAfterMs : MIN_RETRY_AFTER_MS) + RESET_MARGIN_MS;
      if (h['x-ratelimit-global'] === 'true' || h['x-ratelimit-scope'] === 'global') this.options.global.block(until);
      else {
        // Per route, and `shared` (a resource's own limit, across every bot): either way this
        // bucket waits, so the proxy does not spend the bot's invalid-request allowance on it.
        state ??= { limit: 1, remaining: 0, resetAt: 0, blockedUntil: 0 };
        state.blockedUntil = Math.max(state.blockedUntil, until);
      }
    }
    if (state) {
      this.buckets.set(bucketId, state);
      if (bucketId !== id) this.buckets.delete(id);
    }
  }
}

function retryAfterOf(response: ProxyResponse): number {
  const header = Number(response.headers['retry-after']);
  if (Number.isFinite(header) && header > 0) return header * 1000;
  try {
    const body = JSON.parse(response.body.toString('utf8')) as { retry_after?: unknown };
    if (typeof body.retry_after === 'number' && body.retry_after > 0) return body.retry_after * 1000;
  } catch {
    // Not JSON: the minimum hold applies.
  }
  return 0;
}
