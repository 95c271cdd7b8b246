import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff } from './backoff.ts';

describe('backoffDelay', () => {
  it('stays within [min, min·2^attempt] and never above max', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect(backoffDelay(1, { minMs: 100, maxMs: 10_000, random: low })).toBe(100);
    expect(backoffDelay(1, { minMs: 100, maxMs: 10_000, random: high })).toBe(200);
    expect(backoffDelay(3, { minMs: 100, maxMs: 10_000, random: high })).toBe(800);
    expect(backoffDelay(50, { minMs: 100, maxMs: 10_000, random: high })).toBe(10_000);
    expect(backoffDelay(50, { minMs: 100, maxMs: 10_000, random: low })).toBe(100);
  });

  it('refuses a minimum above the maximum and waits a timer cannot hold', () => {
    expect(() => backoffDelay(1, { minMs: 500, maxMs: 100 })).toThrow(RangeError);
    expect(() => backoffDelay(1, { minMs: 1, maxMs: 2 ** 31 })).toThrow(RangeError);
  });
});

describe('retryWithBackoff', () => {
  it('retries until the work succeeds, reporting each failure', async () => {
    const seen: number[] = [];
    const result = await retryWithBackoff(
      async (attempt) => {
        if (attempt < 4) throw new Error(`fail ${attempt}`);
        return attempt;
      },
      { minMs: 1, maxMs: 2, onRetry: (_err, attempt) => seen.push(attempt) },
    );
    expect(result).toBe(4);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('throws failures that are not retryable at once', async () => {
    let calls = 0;
    const work = async () => {
      calls++;
      throw new Error('permanent');
    };
    await expect(retryWithBackoff(work, { minMs: 1, maxMs: 2, retryable: () => false })).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });

  it('stops waiting when aborted, with the abort reason', async () => {
    const controller = new AbortController();
    let calls = 0;
    const running = retryWithBackoff(
      async () => {
        calls++;
        throw new Error('down');
      },
      { minMs: 60_000, maxMs: 60_000, signal: controller.signal, onRetry: () => controller.abort(new Error('closing')) },
    );
    await expect(running).rejects.toThrow('closing');
    expect(calls).toBe(1);
  });
});
