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

  it('keep each body in memory of its own, not in a slice of the shared pool that transient buffers fill', () => {
    const bodies = [frameBody('MESSAGE_CREATE', { content: 'a' }), frameBody('MESSAGE_CREATE', { content: 'é'.repeat(300) })];
    for (const { tail } of bodies) expect(tail.buffer.byteLength).toBe(tail.length);
    expect(bodies[1]!.tail.toString()).toBe(`,"op":0,"d":{"content":"${'é'.repeat(300)}"}}`);
  });
});
