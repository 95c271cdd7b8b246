import { describe, expect, it } from 'vitest';
import { ProtocolViolation } from './close-codes.ts';
import { decodeCommand } from './commands.ts';

const limits = { maxPayloadBytes: 4096, ignoredCommands: new Set([3, 4, 8]) };
const decode = (frame: unknown) => decodeCommand(Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)), limits);
const codeOf = (frame: unknown) => {
  try {
    decode(frame);
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.code;
    throw err;
  }
  return undefined;
};

describe('decodeCommand', () => {
  it('decodes heartbeats, hands IDENTIFY on undecided, decodes RESUME and marks ignored commands', () => {
    expect(decode({ op: 1, d: 42 })).toEqual({ op: 1, seq: 42 });
    expect(decode({ op: 1, d: null })).toEqual({ op: 1, seq: null });
    expect(decode({ op: 2, d: { token: 't' } })).toEqual({ op: 2, d: { token: 't' } });
    expect(decode({ op: 6, d: { token: 't', session_id: 's', seq: 7 } })).toEqual({ op: 6, request: { token: 't', sessionId: 's', seq: 7 } });
    expect(decode({ op: 6, d: { token: 't', session_id: 's', seq: null } })).toMatchObject({ request: { seq: 0 } });
    expect(decode({ op: 3, d: {} })).toEqual({ op: 'ignored' });
  });

  it.each([
    ['over 4096 bytes', { op: 1, d: null, x: 'x'.repeat(4100) }, 4002],
    ['not JSON', '{op:1', 4002],
    ['not a frame', [1, 2], 4002],
    ['a heartbeat with a string', { op: 1, d: 'x' }, 4002],
    ['RESUME without session_id', { op: 6, d: { token: 't', seq: 1 } }, 4002],
    ['an unknown opcode', { op: 42, d: null }, 4001],
    ['a server-only opcode', { op: 10, d: null }, 4001],
    ['a command this host does not accept', { op: 31, d: {} }, 4001],
  ])('refuses %s with its close code', (_what, frame, code) => {
    expect(codeOf(frame)).toBe(code);
  });
});
