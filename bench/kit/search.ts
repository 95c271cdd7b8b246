/**
 * The rate search of the e2e bench, as a pure step function so it can be tested: double from the
 * starting rate until a trial fails, then bisect between the highest rate that held and the lowest
 * that failed until they are within 10% (or 10 msg/s) or the bisection budget is spent.
 */
export interface SearchOptions {
  start: number;
  /** Stop doubling here even if every rate held. */
  max?: number;
  bisections?: number;
}

export interface TriedRate {
  rate: number;
  passed: boolean;
}

/** The next rate to try after `tried` (in order), or undefined when the search is done. */
export function nextRate(tried: readonly TriedRate[], { start, max = 200_000, bisections = 4 }: SearchOptions): number | undefined {
  if (tried.length === 0) return start;
  const held = tried.filter((t) => t.passed).map((t) => t.rate);
  const failed = tried.filter((t) => !t.passed).map((t) => t.rate);
  const low = held.length ? Math.max(...held) : 0;
  if (failed.length === 0) {
    const next = tried[tried.length - 1]!.rate * 2;
    return next <= max ? next : undefined;
  }
  const high = Math.min(...failed.filter((r) => r > low), Infinity);
  if (high === Infinity) return undefined;
  const firstFail = tried.findIndex((t) => !t.passed);
  const bisected = tried.length - 1 - firstFail;
  if (bisected >= bisections || high - low <= Math.max(10, low * 0.1)) return undefined;
  const next = Math.round((low + high) / 2);
  return next === low || next === high ? undefined : next;
}

/** The highest rate that held, or undefined. */
export function ceilingOf<T extends TriedRate>(tried: readonly T[]): T | undefined {
  return tried.filter((t) => t.passed).reduce<T | undefined>((a, b) => (a === undefined || b.rate > a.rate ? b : a), undefined);
}
