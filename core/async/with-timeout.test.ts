import { describe, expect, it, vi } from 'vitest';
import { withTimeout } from './with-timeout.ts';

describe('withTimeout', () => {
  it('passes the outcome through when the work settles first, and clears its timer', async () => {
    vi.useFakeTimers();
    try {
      await expect(withTimeout(Promise.resolve(7), 1000)).resolves.toBe(7);
      await expect(withTimeout(Promise.reject(new Error('own')), 1000)).rejects.toThrow('own');
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects with the given error once the time has passed', async () => {
    vi.useFakeTimers();
    try {
      const never = new Promise<number>(() => {});
      const plain = withTimeout(never, 3000);
      const named = withTimeout(never, 50, () => new RangeError('store too slow'));
      const outcomes = Promise.allSettled([plain, named]);
      await vi.advanceTimersByTimeAsync(3000);
      const [a, b] = await outcomes;
      expect(a).toMatchObject({ status: 'rejected', reason: { message: 'no answer within 3000 ms' } });
      expect(b).toMatchObject({ status: 'rejected', reason: expect.any(RangeError) });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
