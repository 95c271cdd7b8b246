import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from './replay-buffer.ts';
import { frameBody } from './frames.ts';

const body = frameBody('X', null);
const fill = (buffer: ReplayBuffer, from: number, to: number) => {
  for (let seq = from; seq <= to; seq++) buffer.push({ seq, body });
};

describe('ReplayBuffer', () => {
  it('returns every frame after a sequence number, oldest first', () => {
    const buffer = new ReplayBuffer(10);
    fill(buffer, 1, 6);
    expect(buffer.after(3)!.map((f) => f.seq)).toEqual([4, 5, 6]);
    expect(buffer.after(6)).toEqual([]);
    expect(buffer.after(0)!.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps only the newest `capacity` frames and says when a gap cannot be filled', () => {
    const buffer = new ReplayBuffer(4);
    fill(buffer, 1, 10);
    expect(buffer.size).toBe(4);
    expect(buffer.after(6)!.map((f) => f.seq)).toEqual([7, 8, 9, 10]);
    expect(buffer.after(5)).toBeNull();
  });
});

describe('ReplayBuffer bodies', () => {
  it('gives each replayed frame the body it was pushed with, after wrapping around', () => {
    const buffer = new ReplayBuffer(3);
    const bodies = Array.from({ length: 8 }, (_, i) => frameBody('X', { i }));
    bodies.forEach((b, i) => buffer.push({ seq: 41 + i, body: b }));
    expect(buffer.after(45)).toEqual([
      { seq: 46, body: bodies[5] },
      { seq: 47, body: bodies[6] },
      { seq: 48, body: bodies[7] },
    ]);
    expect(buffer.after(44)).toBeNull();
    expect(buffer.after(48)).toEqual([]);
  });

  it('refuses a seq that does not follow the previous one', () => {
    const buffer = new ReplayBuffer(3);
    buffer.push({ seq: 5, body });
    expect(() => buffer.push({ seq: 7, body })).toThrow(RangeError);
  });
});
