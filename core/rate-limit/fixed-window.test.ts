import { describe, expect, it } from 'vitest';
import { FixedWindow, KeyedWindows } from './fixed-window.ts';

describe('KeyedWindows', () => {
  it('allows `limit` per window per key, then refuses until the window ends', () => {
    let now = 1000;
    const limiter = new KeyedWindows(2, 500, () => now);
    expect(limiter.decide('a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetAt: 1500 });
    expect(limiter.decide('a').remaining).toBe(0);
    expect(limiter.decide('a')).toEqual({ allowed: false, limit: 2, remaining: 0, resetAt: 1500 });
    expect(limiter.decide('b').allowed).toBe(true);
    now = 1500;
    expect(limiter.decide('a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetAt: 2000 });
  });

  it('answers take() as a plain yes or no, and forgets keys whose window has passed', () => {
    const limiter = new KeyedWindows(1, 5_000);
    expect(limiter.take('10.0.0.1', 100)).toBe(true);
    expect(limiter.take('10.0.0.1', 4_000)).toBe(false);
    expect(limiter.take('10.0.0.2', 4_000)).toBe(true);
    limiter.prune(5_100);
    expect(limiter.size).toBe(1); // 10.0.0.2's window runs to 9_000
    expect(limiter.take('10.0.0.1', 5_100)).toBe(true);
  });
});

describe('FixedWindow', () => {
  it('starts its window at the first take, and a refused take does not count', () => {
    const window = new FixedWindow(2, 60_000);
    expect([window.take(10), window.take(20), window.take(30)]).toEqual([true, true, false]);
    for (let t = 40; t < 60_010; t += 1000) expect(window.take(t)).toBe(false);
    expect(window.take(60_010)).toBe(true);
    expect(window.expired(120_009)).toBe(false);
    expect(window.expired(120_010)).toBe(true);
  });
});
