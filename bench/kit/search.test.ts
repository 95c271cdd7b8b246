import { describe, expect, it } from 'vitest';
import { ceilingOf, nextRate, type TriedRate } from './search.ts';

/** Runs the search against a system that holds every rate up to `limit`. */
function search(limit: number, start: number, max?: number): TriedRate[] {
  const tried: TriedRate[] = [];
  for (let rate = nextRate(tried, { start, max }); rate !== undefined; rate = nextRate(tried, { start, max })) tried.push({ rate, passed: rate <= limit });
  return tried;
}

describe('rate search', () => {
  it('doubles until a rate fails, then bisects to within 10%', () => {
    const tried = search(300, 100);
    expect(tried.map((t) => t.rate)).toEqual([100, 200, 400, 300, 350, 325]);
    expect(ceilingOf(tried)?.rate).toBe(300);
  });
  it('bisects downwards when the first rate fails', () => {
    const tried = search(30, 100);
    expect(tried[0]).toEqual({ rate: 100, passed: false });
    expect(ceilingOf(tried)!.rate).toBeGreaterThanOrEqual(25);
    expect(ceilingOf(tried)!.rate).toBeLessThanOrEqual(30);
  });
  it('stops at the maximum when everything holds', () => {
    expect(search(Infinity, 100, 800).map((t) => t.rate)).toEqual([100, 200, 400, 800]);
  });
  it('reports no ceiling when nothing held', () => {
    const tried = search(0, 100);
    expect(ceilingOf(tried)).toBeUndefined();
    expect(tried.length).toBeLessThanOrEqual(5);
  });
});
