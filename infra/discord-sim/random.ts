/** A seedable generator (mulberry32): fast, and plenty for synthetic traffic; never for secrets. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('cannot pick from an empty list');
      return items[int(0, items.length - 1)]!;
    },
  };
}

/** Picks keys by weight: one random draw and a binary search over the cumulative weights. */
export class WeightedPicker<K> {
  private readonly keys: K[] = [];
  private readonly cumulative: number[] = [];
  private readonly sum: number;

  constructor(weights: Iterable<readonly [K, number]>) {
    let sum = 0;
    for (const [key, weight] of weights) {
      if (!Number.isFinite(weight) || weight < 0) throw new RangeError(`weight of ${String(key)} must be a finite number >= 0, got ${weight}`);
      if (weight === 0) continue;
      sum += weight;
      this.keys.push(key);
      this.cumulative.push(sum);
    }
    if (sum === 0) throw new RangeError('at least one weight must be greater than 0');
    this.sum = sum;
  }

  pick(random: Random): K {
    const target = random.next() * this.sum;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.cumulative[mid]! > target) high = mid;
      else low = mid + 1;
    }
    return this.keys[low]!;
  }
}
