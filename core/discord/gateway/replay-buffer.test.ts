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
