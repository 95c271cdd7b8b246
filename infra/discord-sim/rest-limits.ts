/**
 * Discord's REST rate limits as the simulator plays them: per bucket (a route's hash and its major
 * parameter) at most `bucketLimit` requests per fixed window of `bucketWindowMs` that starts at the
 * bucket's first request, and at most `globalPerSecond` accepted requests in any sliding second.
 * A request beyond either is answered 429 and counted as a violation: a well-behaved client (or
 * proxy) makes none. Forced periods answer every request 429, for tests of how clients back off.
 */
export interface RestLimitOptions {
  bucketLimit: number;
  bucketWindowMs: number;
  globalPerSecond: number;
}

export interface ForcedRateLimit {
  durationMs: number;
  retryAfterMs: number;
  /** A global 429 (`X-RateLimit-Global`, scope `global`); otherwise per route with `scope`. */
  global?: boolean;
  scope?: 'user' | 'shared';
}

export interface RestBucketStats {
  limit: number;
  windowMs: number;
  /** Accepted requests in each window so far, oldest first: none may exceed `limit`. */
  windows: number[];
  /** Requests answered 429 because the window was full. */
  violations: number;
}

export interface RestStats {
  /** Requests to rate-limited routes, answered or refused. */
  requests: number;
  /** Requests refused because a bucket or the global limit was exhausted: 0 for a client that honours the headers. */
  violations: { bucket: number; global: number };
  /** Requests answered 429 by a forced period (not violations). */
  forced: number;
  /** The most requests accepted within any sliding second. */
  globalMaxPerSecond: number;
  globalPerSecond: number;
  buckets: Record<string, RestBucketStats>;
}

export type LimitVerdict =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; headers: Record<string, string>; body: { message: string; retry_after: number; global: boolean; code?: number } };

interface Bucket {
  startedAt: number;
  used: number;
  stats: RestBucketStats;
}

const SECOND_MS = 1000;

export class RestLimits {
  private readonly buckets = new Map<string, Bucket>();
  /** Accept times within the last second, oldest first. */
  private readonly accepted: number[] = [];
  private forcedUntil = 0;
  private forcedMode: ForcedRateLimit | undefined;
  private requests = 0;
  private forced = 0;
  private violations = { bucket: 0, global: 0 };
  private globalMax = 0;

  constructor(
    private readonly options: RestLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  force(mode: ForcedRateLimit): void {
    if (!(mode.durationMs > 0) || !(mode.retryAfterMs > 0)) throw new RangeError('a forced rate limit needs positive durationMs and retryAfterMs');
    this.forcedMode = mode;
    this.forcedUntil = this.now() + mode.durationMs;
  }

  /** One request for bucket `hash` of major parameter `major`: accepted (and counted) or a 429. */
  decide(hash: string, major: string): LimitVerdict {
    const now = this.now();
    this.requests++;
    const forced = this.forcedMode;
    if (forced && now < this.forcedUntil) {
      this.forced++;
      const scope = forced.global ? 'global' : (forced.scope ?? 'user');
      const headers: Record<string, string> = { 'X-RateLimit-Scope': scope, ...retryAfter(forced.retryAfterMs) };
      if (forced.global) headers['X-RateLimit-Global'] = 'true';
      else headers['X-RateLimit-Bucket'] = hash;
      return { ok: false, headers, body: { message: 'You are being rate limited.', retry_after: seconds(forced.retryAfterMs), global: forced.global === true } };
    }

    while (this.accepted.length > 0 && this.accepted[0]! <= now - SECOND_MS) this.accepted.shift();
    const id = `${hash}:${major}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = { startedAt: Number.NEGATIVE_INFINITY, used: 0, stats: { limit: this.options.bucketLimit, windowMs: this.options.bucketWindowMs, windows: [], violations: 0 } };
      this.buckets.set(id, bucket);
    }
    const { bucketLimit: limit, bucketWindowMs: windowMs } = this.options;
    if (now - bucket.startedAt >= windowMs) {
      bucket.startedAt = now;
      bucket.used = 0;
      bucket.stats.windows.push(0);
    }
    const resetAt = bucket.startedAt + windowMs;
    const bucketHeaders = (remaining: number): Record<string, string> => ({
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
      'X-RateLimit-Reset-After': ((resetAt - now) / 1000).toFixed(3),
      'X-RateLimit-Bucket': hash,
    });

    if (bucket.used >= limit) {
      bucket.stats.violations++;
      this.violations.bucket++;
      return {
        ok: false,
        headers: { ...bucketHeaders(0), 'X-RateLimit-Scope': 'user', ...retryAfter(resetAt - now) },
        body: { message: 'You are being rate limited.', retry_after: seconds(resetAt - now), global: false },
      };
    }
    if (this.accepted.length >= this.options.globalPerSecond) {
      this.violations.global++;
      const wait = this.accepted[0]! + SECOND_MS - now;
      return {
        ok: false,
        headers: { 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global', ...retryAfter(wait) },
        body: { message: 'You are being rate limited.', retry_after: seconds(wait), global: true },
      };
    }
    bucket.used++;
    bucket.stats.windows[bucket.stats.windows.length - 1]!++;
    this.accepted.push(now);
    this.globalMax = Math.max(this.globalMax, this.accepted.length);
    return { ok: true, headers: bucketHeaders(limit - bucket.used) };
  }

  stats(): RestStats {
    const buckets: Record<string, RestBucketStats> = {};
    for (const [id, bucket] of this.buckets) buckets[id] = { ...bucket.stats, windows: [...bucket.stats.windows] };
    return {
      requests: this.requests,
      violations: { ...this.violations },
      forced: this.forced,
      globalMaxPerSecond: this.globalMax,
      globalPerSecond: this.options.globalPerSecond,
      buckets,
    };
  }
}

function seconds(ms: number): number {
  return Math.max(0.001, Number((ms / 1000).toFixed(3)));
}

/** Retry-After in whole seconds (rounded up, as HTTP wants); the body carries the exact value. */
function retryAfter(ms: number): Record<string, string> {
  return { 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) };
}
