import { describe, expect, it } from 'vitest';
import { fetchWaitMs, LEFT_OUT_WAIT_MS } from './consumer.ts';

describe('the consume loop\'s broker-side fetch wait', () => {
  it('long-polls when every partition is in the fetch', () => {
    expect(fetchWaitMs(100, 0)).toBe(100);
    expect(fetchWaitMs(5000, 0)).toBe(5000);
  });

  it('waits briefly when partitions with a batch in hand are left out, so they are fetched soon after their handler returns', () => {
    expect(fetchWaitMs(100, 1)).toBe(LEFT_OUT_WAIT_MS);
    expect(fetchWaitMs(5000, 11)).toBe(LEFT_OUT_WAIT_MS);
    expect(LEFT_OUT_WAIT_MS).toBeLessThan(100);
  });

  it('never waits longer than configured', () => {
    expect(fetchWaitMs(1, 3)).toBe(1);
    expect(fetchWaitMs(LEFT_OUT_WAIT_MS - 1, 3)).toBe(LEFT_OUT_WAIT_MS - 1);
  });
});
