import { describe, expect, it } from 'vitest';
import { decodeNonce, encodeNonce, SequenceTracker, WINDOW } from './accounting.ts';

const run = (seqs: number[], sent = Math.max(...seqs) + 1) => {
  const t = new SequenceTracker(1);
  for (const s of seqs) t.record(0, s);
  return { ...t.counts, missing: t.missing(0, sent) };
};

describe('SequenceTracker', () => {
  it('counts an in-order stream as complete', () => {
    expect(run([0, 1, 2, 3, 4])).toEqual({ received: 5, duplicated: 0, outOfOrder: 0, missing: 0 });
  });
  it('counts gaps and a missing tail as missing', () => {
    expect(run([0, 1, 4, 5], 8)).toMatchObject({ missing: 2 + 2, duplicated: 0, outOfOrder: 0 });
    expect(run([], 3)).toMatchObject({ missing: 3 });
  });
  it('counts a repeat of the last and of an older number as duplicated', () => {
    expect(run([0, 1, 1, 2, 0])).toMatchObject({ duplicated: 2, outOfOrder: 0, missing: 0 });
  });
  it('counts a late arrival as out of order and as filling its gap', () => {
    expect(run([0, 2, 1, 3])).toMatchObject({ outOfOrder: 1, duplicated: 0, missing: 0 });
    expect(run([0, 2, 1, 1])).toMatchObject({ outOfOrder: 1, duplicated: 1, missing: 0 });
  });
  it('tells duplicates from late arrivals across a jump of exactly the window', () => {
    expect(run([0, WINDOW, 0])).toMatchObject({ duplicated: 1, outOfOrder: 0, missing: WINDOW - 1 });
    expect(run([0, WINDOW + 1, 0])).toMatchObject({ duplicated: 0, outOfOrder: 1 });
  });
  it('keeps slots apart and its memory fixed by slots, not messages', () => {
    const t = new SequenceTracker(2);
    for (let i = 0; i < 100_000; i++) t.record(i % 2, Math.floor(i / 2));
    expect(t.missing(0, 50_000)).toBe(0);
    expect(t.missing(1, 50_001)).toBe(1);
    expect(t.counts).toEqual({ received: 100_000, duplicated: 0, outOfOrder: 0 });
  });
});

describe('nonce', () => {
  it('round-trips within Discord\'s 25 characters', () => {
    const at = Date.now() + 0.123;
    const text = encodeNonce(at, 199, 1_234_567);
    expect(text.length).toBeLessThanOrEqual(25);
    const n = decodeNonce(text)!;
    expect(n.guildIndex).toBe(199);
    expect(n.seq).toBe(1_234_567);
    expect(Math.abs(n.intendedAtMs - at)).toBeLessThan(0.001);
  });
  it('rejects what the generator did not write', () => {
    expect(decodeNonce('1234567890')).toBeUndefined();
    expect(decodeNonce('a..b')).toBeUndefined();
    expect(decodeNonce('a.b.')).toBeUndefined();
  });
});
