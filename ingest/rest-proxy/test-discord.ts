import type { Clock } from './local-limiter.ts';
import type { ProxyRequest, ProxyResponse } from './types.ts';
import type { Upstream } from './upstream.ts';

/**
 * For unit tests: a virtual clock (sleeping advances it) and an in-memory Discord on it, with one
 * fixed-window bucket per route and major parameter that records every send and every request it
 * had to refuse. Tests script extra answers (a 429) through `next`.
 */
export class VirtualClock implements Clock {
  constructor(public time = 1_000_000) {}
  now = () => this.time;
  sleep = async (ms: number) => {
    this.time += Math.max(0, ms);
    await Promise.resolve();
  };
}

export interface FakeDiscordOptions {
  limit: number;
  windowMs: number;
  hash?: (request: ProxyRequest) => string;
}

export class FakeDiscord {
  readonly sends: { at: number; request: ProxyRequest; status: number }[] = [];
  violations = 0;
  /** Answers to give instead of the bucket's, first in first out. */
  readonly next: ((request: ProxyRequest) => ProxyResponse)[] = [];
  private readonly windows = new Map<string, { startedAt: number; used: number }>();

  constructor(
    private readonly clock: VirtualClock,
    private readonly options: FakeDiscordOptions,
  ) {}

  readonly upstream: Upstream = async (request) => {
    const now = this.clock.now();
    const scripted = this.next.shift();
    if (scripted) {
      const response = scripted(request);
      this.sends.push({ at: now, request, status: response.status });
      return response;
    }
    const hash = this.options.hash?.(request) ?? `${request.method}-${request.path.split('/').slice(0, 2).join('')}`;
    const key = `${hash}:${request.path.split('/')[2]}`;
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= this.options.windowMs) this.windows.set(key, (window = { startedAt: now, used: 0 }));
    const resetAfter = (window.startedAt + this.options.windowMs - now) / 1000;
    const refused = window.used >= this.options.limit;
    if (refused) this.violations++;
    else window.used++;
    const headers = {
      'content-type': 'application/json',
      'x-ratelimit-limit': String(this.options.limit),
      'x-ratelimit-remaining': String(this.options.limit - window.used),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-bucket': hash,
      ...(refused && { 'retry-after': String(Math.ceil(resetAfter)), 'x-ratelimit-scope': 'user' }),
    };
    this.sends.push({ at: now, request, status: refused ? 429 : 200 });
    return { status: refused ? 429 : 200, headers, body: Buffer.from(JSON.stringify(refused ? { message: 'You are being rate limited.', retry_after: resetAfter, global: false } : { id: String(this.sends.length) })) };
  };
}

export function scripted429(retryAfterSeconds: number, extra: Record<string, string> = {}): () => ProxyResponse {
  return () => ({
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds), 'x-ratelimit-scope': 'user', ...extra },
    body: Buffer.from(JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfterSeconds, global: extra['x-ratelimit-global'] === 'true' })),
  });
}
