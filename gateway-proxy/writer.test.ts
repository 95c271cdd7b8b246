import { describe, expect, it } from 'vitest';
import { constants, inflateSync } from 'node:zlib';
import { WebSocket } from 'ws';
import { Registry } from 'prom-client';
import { createEdgeMetrics } from './metrics.ts';
import { controlFrame, frameBody } from './serialize.ts';
import { FlushScheduler, SocketWriter, ZlibStreamWriter } from './writer.ts';

const tick = () => new Promise((r) => setImmediate(r));

function fakeSocket(bufferedAmount = 0) {
  const writes: Buffer[] = [];
  const sent: Buffer[] = [];
  const ws = {
    readyState: WebSocket.OPEN,
    bufferedAmount,
    _socket: { write: (b: Buffer) => writes.push(b) },
    send: (b: Buffer) => sent.push(b),
  } as unknown as WebSocket;
  return { ws, writes, sent };
}

/** Splits unmasked server frames (RFC 6455 §5.2) into their text payloads, checking each is FIN + text. */
function decode(bytes: Buffer): string[] {
  const messages: string[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    expect(bytes[offset]).toBe(0x81);
    let length = bytes[offset + 1]!;
    offset += 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset));
      offset += 8;
    }
    messages.push(bytes.subarray(offset, offset + length).toString());
    offset += length;
  }
  return messages;
}

describe('SocketWriter', () => {
  it('writes every frame due in a tick in one socket write, as standard websocket frames', async () => {
    const { ws, writes } = fakeSocket();
    const slow: string[] = [];
    const writer = new SocketWriter(ws, { scheduler: new FlushScheduler(), metrics: createEdgeMetrics(new Registry()), maxBufferedBytes: 1 << 20, onSlowConsumer: () => slow.push('x') });
    const big = frameBody('MESSAGE_CREATE', { content: 'z'.repeat(70_000) });
    writer.push(controlFrame(10, { heartbeat_interval: 1 }));
    writer.push({ seq: 1, body: frameBody('MESSAGE_CREATE', { n: 1 }) });
    writer.push({ seq: 12345, body: big });
    writer.push({ seq: 12346, body: frameBody('MESSAGE_CREATE', { content: 'm'.repeat(300) }) });
    await tick();
    expect(writes).toHaveLength(1);
    const messages = decode(writes[0]!).map((m) => JSON.parse(m));
    expect(messages.map((m) => m.s)).toEqual([null, 1, 12345, 12346]);
    expect(messages[2].d.content).toHaveLength(70_000);
    expect(slow).toEqual([]);
  });

  it('stops and reports a socket whose unread bytes are over the cap', async () => {
    const { ws, writes } = fakeSocket(2_000);
    let slow = 0;
    const writer = new SocketWriter(ws, { scheduler: new FlushScheduler(), metrics: createEdgeMetrics(new Registry()), maxBufferedBytes: 1_024, onSlowConsumer: () => slow++ });
    writer.push({ seq: 1, body: frameBody('X', null) });
    await tick();
    writer.push({ seq: 2, body: frameBody('X', null) });
    await tick();
    expect(writes).toHaveLength(0);
    expect(slow).toBe(1);
  });
});

describe('ZlibStreamWriter', () => {
  it('sends each frame as its own sync-flushed message of one zlib stream', async () => {
    const { ws, sent } = fakeSocket();
    const writer = new ZlibStreamWriter(ws, { scheduler: new FlushScheduler(), metrics: createEdgeMetrics(new Registry()), maxBufferedBytes: 1 << 20, onSlowConsumer: () => {} });
    for (let seq = 1; seq <= 3; seq++) writer.push({ seq, body: frameBody('MESSAGE_CREATE', { n: seq }) });
    await new Promise<void>((resolve) => writer.end(resolve));
    expect(sent).toHaveLength(3);
    for (const message of sent) expect([...message.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
    const text = inflateSync(Buffer.concat(sent), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    expect(text).toBe([1, 2, 3].map((n) => `{"t":"MESSAGE_CREATE","s":${n},"op":0,"d":{"n":${n}}}`).join(''));
  });
});
