import { describe, expect, it } from 'vitest';
import { scanDispatch } from './frame-scan.ts';

const frame = (t: string, s: number, d: unknown) => Buffer.from(`{"t":${JSON.stringify(t)},"s":${s},"op":0,"d":${JSON.stringify(d)}}`);

describe('scanDispatch', () => {
  it('reads type, sequence and the nonce without parsing', () => {
    const d = { id: '1', content: 'says "nonce":"fake" inside', guild_id: '2', nonce: 'abc.1.2' };
    expect(scanDispatch(frame('MESSAGE_CREATE', 12345, d))).toEqual({ t: 'MESSAGE_CREATE', s: 12345, nonce: 'abc.1.2' });
  });
  it('gives no nonce for dispatches without one', () => {
    expect(scanDispatch(frame('TYPING_START', 7, { channel_id: '1' }))).toEqual({ t: 'TYPING_START', s: 7, nonce: undefined });
  });
  it('leaves READY, RESUMED and control frames to JSON.parse', () => {
    expect(scanDispatch(frame('READY', 1, { session_id: 'x' }))).toBeUndefined();
    expect(scanDispatch(frame('RESUMED', 9, null))).toBeUndefined();
    expect(scanDispatch(Buffer.from('{"op":10,"d":{"heartbeat_interval":41250}}'))).toBeUndefined();
    expect(scanDispatch(Buffer.from('{"op":0,"s":1,"t":"MESSAGE_CREATE","d":{}}'))).toBeUndefined();
  });
  it('agrees with JSON.parse on the sequence number', () => {
    for (const s of [0, 1, 9, 10, 99_999_999]) expect(scanDispatch(frame('MESSAGE_CREATE', s, { nonce: 'a.b.c' }))?.s).toBe(JSON.parse(frame('MESSAGE_CREATE', s, {}).toString()).s);
  });
});
