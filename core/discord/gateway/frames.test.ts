import { describe, expect, it } from 'vitest';
import { frameBody, frameBytes, frameLength } from './frames.ts';

describe('dispatch frames', () => {
  it('splice each sequence number in as its decimal digits, whatever its length', () => {
    const body = frameBody('MESSAGE_CREATE', { n: 1 });
    for (const seq of [0, 7, 9, 10, 99, 100, 12_345, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const bytes = frameBytes({ seq, body });
      expect(bytes.length).toBe(frameLength({ seq, body }));
      expect(bytes.toString()).toBe(`{"t":"MESSAGE_CREATE","s":${seq},"op":0,"d":{"n":1}}`);
    }
  });
});
