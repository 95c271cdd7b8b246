import { describe, expect, it } from 'vitest';
import { ProtocolViolation } from '../../core/discord/gateway/close-codes.ts';
import { parseIdentify } from './frames.ts';

const limits = { maxShards: 16 };
const identify = (d: Record<string, unknown>) => ({ token: 't', intents: 513, properties: {}, ...d });
const codeOf = (d: unknown) => {
  try {
    parseIdentify(d, limits);
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.code;
    throw err;
  }
  return undefined;
};

describe('parseIdentify', () => {
  it('decodes IDENTIFY, with shard [0, 1] when the client sent none', () => {
    expect(parseIdentify(identify({}), limits)).toEqual({ token: 't', intents: 513, shard: [0, 1] });
    expect(parseIdentify(identify({ shard: [3, 4] }), limits)).toMatchObject({ shard: [3, 4] });
  });

  it.each([
    ['IDENTIFY without a token', { intents: 0 }, 4002],
    ['IDENTIFY that is not an object', 'x', 4002],
    ['intents as a string', identify({ intents: '513' }), 4013],
    ['negative intents', identify({ intents: -1 }), 4013],
    ['unknown intent bits', identify({ intents: 1 << 18 }), 4013],
    ['a shard id not below the count', identify({ shard: [4, 4] }), 4010],
    ['a shard count over the limit', identify({ shard: [0, 17] }), 4010],
    ['a malformed shard', identify({ shard: 'x' }), 4010],
  ])('refuses %s with its close code', (_what, d, code) => {
    expect(codeOf(d)).toBe(code);
  });
});
