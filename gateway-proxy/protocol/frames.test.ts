import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './frames.ts';
import { ProtocolViolation } from './close-codes.ts';

const limits = { maxPayloadBytes: 4096, maxShards: 16 };
const parse = (frame: unknown) => parseClientFrame(Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)), limits);
const codeOf = (frame: unknown) => {
  try {
    parse(frame);
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.code;
    throw err;
  }
  return undefined;
};
const identify = (d: Record<string, unknown>) => ({ op: 2, d: { token: 't', intents: 513, properties: {}, ...d } });

describe('parseClientFrame', () => {
  it('decodes heartbeats, IDENTIFY (default shard [0, 1]) and RESUME', () => {
    expect(parse({ op: 1, d: 42 })).toEqual({ op: 1, seq: 42 });
    expect(parse({ op: 1, d: null })).toEqual({ op: 1, seq: null });
    expect(parse(identify({}))).toEqual({ op: 2, token: 't', intents: 513, shard: [0, 1] });
    expect(parse(identify({ shard: [3, 4] }))).toMatchObject({ shard: [3, 4] });
    expect(parse({ op: 6, d: { token: 't', session_id: 's', seq: 7 } })).toEqual({ op: 6, token: 't', sessionId: 's', seq: 7 });
    expect(parse({ op: 3, d: {} })).toEqual({ op: 'ignored' });
  });

  it.each([
    ['over 4096 bytes', { op: 1, d: null, x: 'x'.repeat(4100) }, 4002],
    ['not JSON', '{op:1', 4002],
    ['not a frame', [1, 2], 4002],
    ['a heartbeat with a string', { op: 1, d: 'x' }, 4002],
    ['IDENTIFY without a token', { op: 2, d: { intents: 0 } }, 4002],
    ['RESUME without session_id', { op: 6, d: { token: 't', seq: 1 } }, 4002],
    ['an unknown opcode', { op: 42, d: null }, 4001],
    ['a server-only opcode', { op: 10, d: null }, 4001],
    ['intents as a string', identify({ intents: '513' }), 4013],
    ['negative intents', identify({ intents: -1 }), 4013],
    ['unknown intent bits', identify({ intents: 1 << 18 }), 4013],
    ['a shard id not below the count', identify({ shard: [4, 4] }), 4010],
    ['a shard count over the limit', identify({ shard: [0, 17] }), 4010],
    ['a malformed shard', identify({ shard: 'x' }), 4010],
  ])('refuses %s with its close code', (_what, frame, code) => {
    expect(codeOf(frame)).toBe(code);
  });
});
