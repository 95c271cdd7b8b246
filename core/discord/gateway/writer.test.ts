import { constants, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { controlFrame, frameBody } from './frames.ts';
import { MemoryTransport } from './memory-transport.ts';
import { flushMessage, FlushScheduler, PlainFrameWriter, REPEATED_FLUSH_MARKER, ZlibStreamWriter, type WriterOptions } from './writer.ts';

const tick = () => new Promise((r) => setImmediate(r));
const options = (overrides: Partial<WriterOptions> = {}): WriterOptions => ({ scheduler: new FlushScheduler(), maxBufferedBytes: 1 << 20, onSlowConsumer: () => {}, ...overrides });

describe('PlainFrameWriter', () => {
  it('writes every frame due in a tick in one transport write, as standard websocket frames with s spliced in', async () => {
    const transport = new MemoryTransport();
    const flushed: number[] = [];
    const writer = new PlainFrameWriter(transport, options({ onFlushed: (frames) => flushed.push(frames.length) }));
    const big = frameBody('MESSAGE_CREATE', { content: 'z'.repeat(70_000) });
    writer.push(controlFrame(10, { heartbeat_interval: 1 }));
    writer.push({ seq: 1, body: frameBody('MESSAGE_CREATE', { n: 1 }) });
    writer.push({ seq: 12345, body: big });
    writer.push({ seq: 12346, body: frameBody('MESSAGE_CREATE', { content: 'm'.repeat(300) }) });
    await tick();
    expect(transport.writes).toBe(1);
    const messages = transport.payloads();
    expect(messages.map((m) => m.s)).toEqual([null, 1, 12345, 12346]);
    expect(messages[2]!.d.content).toHaveLength(70_000);
    expect(flushed).toEqual([4]);
  });

  it('stops and reports a socket whose unread bytes are over the cap', async () => {
    const transport = new MemoryTransport();
    transport.bufferedAmount = 2_000;
    let slow = 0;
    const writer = new PlainFrameWriter(transport, options({ maxBufferedBytes: 1_024, onSlowConsumer: () => slow++ }));
    writer.push({ seq: 1, body: frameBody('X', null) });
    await tick();
    writer.push({ seq: 2, body: frameBody('X', null) });
    await tick();
    expect(transport.writes).toBe(0);
    expect(slow).toBe(1);
  });
});

describe('ZlibStreamWriter', () => {
  it('sends each frame as its own sync-flushed binary message of one zlib stream', async () => {
    const transport = new MemoryTransport();
    const writer = new ZlibStreamWriter(transport, options());
    for (let seq = 1; seq <= 3; seq++) writer.push({ seq, body: frameBody('MESSAGE_CREATE', { n: seq }) });
    await new Promise<void>((resolve) => writer.end(resolve));
    const sent = transport.messages as Buffer[];
    expect(sent).toHaveLength(3);
    for (const message of sent) expect([...message.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
    const text = inflateSync(Buffer.concat(sent), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    expect(text).toBe([1, 2, 3].map((n) => `{"t":"MESSAGE_CREATE","s":${n},"op":0,"d":{"n":${n}}}`).join(''));
  });

  it('keeps 2,000 payloads of every size in order, each message ending a flush', async () => {
    const transport = new MemoryTransport();
    const writer = new ZlibStreamWriter(transport, options({ maxBufferedBytes: 1 << 30 }));
    const bodies = Array.from({ length: 2_000 }, (_, i) => frameBody('MESSAGE_CREATE', { content: 'gg '.repeat(i % 300) }));
    bodies.forEach((body, i) => writer.push({ seq: i + 1, body }));
    await new Promise<void>((resolve) => writer.end(resolve));
    const sent = transport.messages as Buffer[];
    expect(sent).toHaveLength(bodies.length);
    for (const message of sent) {
      expect([...message.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
      expect(message.equals(REPEATED_FLUSH_MARKER)).toBe(false);
    }
    const inflated = inflateSync(Buffer.concat(sent), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    expect(inflated.split('}}{').length).toBe(bodies.length);
  });
});

describe('flushMessage', () => {
  it('joins one flush’s chunks and drops a repeated empty flush marker, alone or trailing', () => {
    const body = deflateSync('{"op":11}', { finishFlush: constants.Z_SYNC_FLUSH });
    expect(flushMessage([body.subarray(0, 5), body.subarray(5)])).toEqual(body);
    expect(flushMessage([REPEATED_FLUSH_MARKER])).toBeUndefined();
    expect(flushMessage([])).toBeUndefined();
    expect(flushMessage([body, REPEATED_FLUSH_MARKER])).toEqual(body);
  });
});
