export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the current window ends. */
  resetAt: number;
}

/**
 * A fixed-window limit per key (one window per token), the model behind Discord's
 * X-RateLimit-Limit/Remaining/Reset headers. Keys are configured tokens, so the map stays small.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { startedAt: number; used: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): RateLimitDecision {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= this.windowMs) {
      window = { startedAt: now, used: 0 };
      this.windows.set(key, window);
    }
    const resetAt = window.startedAt + this.windowMs;
    if (window.used >= this.limit) return { allowed: false, limit: this.limit, remaining: 0, resetAt };
    window.used++;
    return { allowed: true, limit: this.limit, remaining: this.limit - window.used, resetAt };
  }
}
