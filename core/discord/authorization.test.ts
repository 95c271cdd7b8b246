import { describe, expect, it } from 'vitest';
import { bearerToken } from './authorization.ts';

describe('bearerToken', () => {
  it('accepts Bot and Bearer, any case', () => {
    expect(bearerToken('Bot abc.def')).toBe('abc.def');
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bot  abc')).toBe('abc');
  });

  it('refuses everything else', () => {
    for (const header of [undefined, '', 'abc', 'Basic abc', 'Bot', 'Bot a b', ['Bot a']]) expect(bearerToken(header)).toBeUndefined();
  });

  it('takes a bare token only when asked, and never a bare scheme or another scheme', () => {
    expect(bearerToken('abc.def', { bare: true })).toBe('abc.def');
    expect(bearerToken('Bearer abc', { bare: true })).toBe('abc');
    for (const header of [undefined, '', 'Bot', 'bearer', 'Basic abc', 'Bot a b', 'a b']) expect(bearerToken(header, { bare: true })).toBeUndefined();
  });
});
