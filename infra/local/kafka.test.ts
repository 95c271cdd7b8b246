import { describe, expect, it } from 'vitest';
import { newClusterId } from './kafka.ts';

describe('the local Kafka\'s cluster id', () => {
  it('never starts with "-", which the storage tool would read as an option', () => {
    // 0xfb 0xe0 ... encodes to "-", the first draw; the second is a plain one.
    const draws = [Buffer.from([0xfb, 0xe0, ...Array(14).fill(1)]), Buffer.alloc(16, 7)];
    expect(draws[0]!.toString('base64url').startsWith('-')).toBe(true);
    const id = newClusterId(() => draws.shift()!);
    expect(id).toBe(Buffer.alloc(16, 7).toString('base64url'));
    expect(draws).toHaveLength(0);
  });

  it('is 16 random bytes in base64url', () => {
    const id = newClusterId();
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
