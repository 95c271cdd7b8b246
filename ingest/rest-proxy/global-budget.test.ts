import { describe, expect, it } from 'vitest';
import { GlobalBudget } from './global-budget.ts';

describe('GlobalBudget', () => {
  it('reuses a slot a window after its request was answered, not after it was sent', () => {
    const budget = new GlobalBudget(2, 1000);
    const a = budget.take();
    const b = budget.take();
    expect(budget.waitMs(0)).toBe(10); // both in flight: look again soon
    budget.finish(a, 300); // answered 300 ms after the send
    budget.finish(b, 100);
    expect(budget.waitMs(400)).toBe(700); // b's slot frees at 100 + 1000
    expect(budget.waitMs(1100)).toBe(0);
    budget.take();
    expect(budget.waitMs(1100)).toBe(200); // then a's, at 1300
  });

  it('holds everything until a global 429’s end', () => {
    const budget = new GlobalBudget(5, 1000);
    budget.block(5_000);
    expect(budget.waitMs(1_000)).toBe(4_000);
    expect(budget.waitMs(5_000)).toBe(0);
  });
});
