/** What a take found: the model behind Discord's X-RateLimit-Limit/Remaining/Reset headers. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the current window ends. */
  resetAt: number;
}

/**
 * At most `limit` takes per fixed window of `windowMs`, the window starting at the first take
 * after the previous one ended. Discord counts gateway commands (120 per 60 s) and IDENTIFYs
 * (max_concurrency per 5 s) this way, and its REST buckets report the same numbers. A refused
 * take does not count, so a flood cannot push the window's end further away.
 */
export class FixedWindow {
  private startedAt = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  take(now = Date.now()): boolean {
    if (this.expired(now)) {
      this.startedAt = now;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  /** Takes one and says how the window stands afterwards. */
  decide(now = Date.now()): RateLimitDecision {
    const allowed = this.take(now);
    return { allowed, limit: this.limit, remaining: this.limit - this.used, resetAt: this.startedAt + this.windowMs };
  }

  expired(now: number): boolean {
    return now - this.startedAt >= this.windowMs;
  }
}

/** A FixedWindow per key (a client address, a token); `prune` forgets the ones whose window has passed. */
export class KeyedWindows {
  private readonly windows = new Map<string, FixedWindow>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string, now = this.now()): boolean {
    return this.window(key).take(now);
  }

  decide(key: string, now = this.now()): RateLimitDecision {
    return this.window(key).decide(now);
  }

  prune(now = this.now()): void {
    for (const [key, window] of this.windows) if (window.expired(now)) this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  private window(key: string): FixedWindow {
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = new FixedWindow(this.limit, this.windowMs)));
    return window;
  }
}
