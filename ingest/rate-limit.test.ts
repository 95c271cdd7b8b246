import { describe, expect, it } from 'vitest';
import { FixedWindowLimiter } from './rate-limit.ts';

describe('FixedWindowLimiter', () => {
  it('allows `limit` per window per key, then refuses until the window ends', () => {
    let now = 1000;
    const limiter = new FixedWindowLimiter(2, 500, () => now);
    expect(limiter.take('a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetAt: 1500 });
    expect(limiter.take('a').remaining).toBe(0);
    expect(limiter.take('a')).toEqual({ allowed: false, limit: 2, remaining: 0, resetAt: 1500 });
    expect(limiter.take('b').allowed).toBe(true);
    now = 1500;
    expect(limiter.take('a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetAt: 2000 });
  });
});
