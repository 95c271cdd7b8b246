import { constants, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually } from '../../test/support.ts';
import { FlushFrameAssembler, zlibStreamWriter } from './frame-writer.ts';

const MARKER = [0x00, 0x00, 0xff, 0xff];

describe('zlib-stream framing', () => {
  it('sends one binary message per payload, each ending with 00 00 ff ff, inflating in order with one context', async () => {
    const sent: Buffer[] = [];
    const socket = { readyState: WebSocket.OPEN, send: (data: Buffer) => sent.push(data), terminate: () => undefined } as unknown as WebSocket;
    const writer = zlibStreamWriter(socket);
    const payloads = Array.from({ length: 2_000 }, (_, i) => JSON.stringify({ op: 0, s: i + 1, d: { content: 'gg '.repeat(i % 300) } }));
    for (const payload of payloads) writer.write(payload);
    await eventually('every payload to be compressed', () => (sent.length >= payloads.length ? true : undefined), 15_000);
    writer.close();
    expect(sent).toHaveLength(payloads.length);
    for (const frame of sent) expect([...frame.subarray(-4)]).toEqual(MARKER);
    const inflated = inflateSync(Buffer.concat(sent), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    expect(inflated).toBe(payloads.join(''));
  });

  it('joins chunks up to the flush and drops a repeated empty flush marker that would arrive alone', () => {
    const frames = new FlushFrameAssembler();
    const body = deflateSync('{"op":11}', { finishFlush: constants.Z_SYNC_FLUSH });
    expect(frames.push(body.subarray(0, 5))).toBeUndefined();
    expect(frames.push(body.subarray(5))).toEqual(body);
    expect(frames.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]))).toBeUndefined();
    expect(frames.push(body)).toEqual(body);
  });
});
