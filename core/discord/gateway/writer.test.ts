import { constants, deflateSync, inflateSync, zstdDecompressSync } from 'node:zlib';
import { Decompress } from 'fzstd';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { controlFrame, frameBody } from './frames.ts';
import { MemoryTransport } from './memory-transport.ts';
import {
  createFrameWriter,
  flushMessage,
  FlushScheduler,
  isTransportCompression,
  PlainFrameWriter,
  REPEATED_FLUSH_MARKER,
  ZlibStreamWriter,
  ZstdStreamWriter,
  type WriterOptions,
} from './writer.ts';

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

  it('writes each round only its own frames, round after round', async () => {
    const transport = new MemoryTransport();
    const writer = new PlainFrameWriter(transport, options());
    for (let round = 0; round < 3; round++) {
      writer.push({ seq: 2 * round + 1, body: frameBody('MESSAGE_CREATE', { round }) });
      writer.push({ seq: 2 * round + 2, body: frameBody('MESSAGE_CREATE', { round }) });
      await tick();
    }
    expect(transport.writes).toBe(3);
    expect(transport.payloads().map((m) => [m.s, m.d.round])).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
      [4, 1],
      [5, 2],
      [6, 2],
    ]);
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

describe('FlushScheduler', () => {
  afterEach(() => void vi.useRealTimers());
  const event = (seq: number) => ({ seq, body: frameBody('MESSAGE_CREATE', { n: seq }) });
  const fake = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
  /** A 10 ms window on the faked clock. */
  const windowed = () => new FlushScheduler({ windowMs: 10, now: () => Date.now() });

  it('with a window, a frame after a quiet window still goes at the end of its turn', () => {
    fake();
    const transport = new MemoryTransport();
    const writer = new PlainFrameWriter(transport, options({ scheduler: windowed() }));
    writer.push(event(1));
    expect(transport.writes).toBe(0);
    vi.advanceTimersByTime(0);
    expect(transport.writes).toBe(1);
  });

  it('with a window, frames due less than a window after a round wait for it to close: one write per socket, in order, one timer for all', () => {
    fake();
    const scheduler = windowed();
    const [first, second] = [new MemoryTransport(), new MemoryTransport()];
    const a = new PlainFrameWriter(first, options({ scheduler }));
    const b = new PlainFrameWriter(second, options({ scheduler }));
    a.push(event(1));
    vi.advanceTimersByTime(0);
    expect([first.writes, second.writes]).toEqual([1, 0]);
    vi.advanceTimersByTime(4);
    b.push(event(2));
    a.push(event(3));
    vi.advanceTimersByTime(4);
    a.push(event(4));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1);
    expect([first.writes, second.writes]).toEqual([1, 0]);
    vi.advanceTimersByTime(1);
    expect([first.writes, second.writes]).toEqual([2, 1]);
    expect(first.payloads().map((m) => m.s)).toEqual([1, 3, 4]);
    expect(second.payloads().map((m) => m.s)).toEqual([2]);
  });

  it('with a window, goes back to the end of the turn once a window passed without a round', () => {
    fake();
    const transport = new MemoryTransport();
    const writer = new PlainFrameWriter(transport, options({ scheduler: windowed() }));
    writer.push(event(1));
    vi.advanceTimersByTime(3);
    writer.push(event(2));
    vi.advanceTimersByTime(7);
    expect(transport.writes).toBe(2);
    vi.advanceTimersByTime(15);
    expect(vi.getTimerCount()).toBe(0);
    writer.push(event(3));
    vi.advanceTimersByTime(0);
    expect(transport.writes).toBe(3);
    expect(transport.payloads().map((m) => m.s)).toEqual([1, 2, 3]);
  });

  it('end() during an open window writes the queued frames, in one write, before the close', () => {
    fake();
    const transport = new MemoryTransport();
    const writer = new PlainFrameWriter(transport, options({ scheduler: windowed() }));
    writer.push(event(1));
    vi.advanceTimersByTime(0);
    writer.push(event(2));
    vi.advanceTimersByTime(3);
    writer.push(event(3));
    vi.advanceTimersByTime(3);
    expect(transport.writes).toBe(1);
    let sentBeforeClose: number[] = [];
    writer.end(() => {
      sentBeforeClose = transport.payloads().map((m) => m.s ?? -1);
      transport.close(1000, 'bye');
    });
    expect(sentBeforeClose).toEqual([1, 2, 3]);
    expect(transport.closedWith?.code).toBe(1000);
    vi.advanceTimersByTime(10);
    expect(transport.writes).toBe(2);
  });

  it('end() of a compressed writer during an open window sends its frames before calling back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const transport = new MemoryTransport();
    const scheduler = windowed();
    // A round just ran (another socket's): this writer's frames wait for the window to close.
    new PlainFrameWriter(new MemoryTransport(), options({ scheduler })).push(event(0));
    await tick();
    const writer = new ZstdStreamWriter(transport, options({ scheduler }));
    writer.push(event(1));
    vi.advanceTimersByTime(3);
    writer.push(event(2));
    let sentAtEnd = -1;
    await new Promise<void>((resolve) =>
      writer.end(() => {
        sentAtEnd = transport.messages.length;
        resolve();
      }),
    );
    expect(sentAtEnd).toBe(2);
    const decode = zstdClient();
    expect((transport.messages as Buffer[]).map((m) => JSON.parse(decode(m)).s)).toEqual([1, 2]);
  });

  it('with a window, still stops a socket whose unread bytes are over the cap when the window fires', () => {
    fake();
    const transport = new MemoryTransport();
    let slow = 0;
    const writer = new PlainFrameWriter(transport, options({ scheduler: windowed(), maxBufferedBytes: 1_024, onSlowConsumer: () => slow++ }));
    writer.push(event(1));
    vi.advanceTimersByTime(0);
    writer.push(event(2));
    transport.bufferedAmount = 2_000;
    vi.advanceTimersByTime(10);
    writer.push(event(3));
    vi.advanceTimersByTime(10);
    expect([transport.writes, slow]).toEqual([1, 1]);
  });

  it('flushes, in the next round, a writer that got a frame from another writer’s flush after its own', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate'] });
    const scheduler = new FlushScheduler();
    const first = new MemoryTransport();
    const a = new PlainFrameWriter(first, options({ scheduler }));
    const b = new PlainFrameWriter(new MemoryTransport(), options({ scheduler, onFlushed: () => a.push(event(2)) }));
    a.push(event(1));
    b.push(event(9));
    vi.runAllTimers();
    expect(first.payloads().map((m) => m.s)).toEqual([1, 2]);
  });

  it('refuses a negative or non-numeric window', () => {
    expect(() => new FlushScheduler({ windowMs: -1 })).toThrow(RangeError);
    expect(() => new FlushScheduler({ windowMs: Number.NaN })).toThrow(RangeError);
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

/** A client's single streaming context (fzstd, not node:zlib): what each message decodes to, alone. */
function zstdClient(): (message: Buffer) => string {
  const decoded: Uint8Array[] = [];
  const stream = new Decompress((chunk) => decoded.push(chunk));
  return (message) => {
    decoded.length = 0;
    stream.push(message);
    return Buffer.concat(decoded).toString();
  };
}

describe('ZstdStreamWriter', () => {
  it('sends each frame as its own flushed binary message that a streaming decoder yields at once, in order', async () => {
    const transport = new MemoryTransport();
    const flushed: number[] = [];
    const writer = new ZstdStreamWriter(transport, options({ onFlushed: (frames, bytes) => flushed.push(frames.length, bytes) }));
    writer.push(controlFrame(10, { heartbeat_interval: 1 }));
    for (let seq = 1; seq <= 3; seq++) writer.push({ seq, body: frameBody('MESSAGE_CREATE', { n: seq }) });
    await new Promise<void>((resolve) => writer.end(resolve));
    const sent = transport.messages as Buffer[];
    expect(sent).toHaveLength(4);
    expect(sent.every(Buffer.isBuffer)).toBe(true);
    const decode = zstdClient();
    expect(decode(sent[0]!)).toBe('{"op":10,"d":{"heartbeat_interval":1},"s":null,"t":null}');
    expect(sent.slice(1).map(decode)).toEqual([1, 2, 3].map((n) => `{"t":"MESSAGE_CREATE","s":${n},"op":0,"d":{"n":${n}}}`));
    expect(flushed).toEqual(sent.flatMap((m) => [1, m.length]));
  });

  it('keeps 2,000 payloads of every size (some over the 64 KiB window) in order, each message decodable on arrival', async () => {
    const transport = new MemoryTransport();
    const writer = new ZstdStreamWriter(transport, options({ maxBufferedBytes: 1 << 30 }));
    const words = ['gg', 'wp', 'lfg', 'brb', 'ok', 'raid', 'at', '9'];
    const contents = Array.from({ length: 2_000 }, (_, i) =>
      Array.from({ length: i % 7 === 0 ? (i * 37) % 40_000 : i % 300 }, (_, w) => words[(w * i + (w >> 3)) % words.length]).join(' '),
    );
    const bodies = contents.map((content) => frameBody('MESSAGE_CREATE', { content }));
    bodies.forEach((body, i) => writer.push({ seq: i + 1, body }));
    await new Promise<void>((resolve) => writer.end(resolve));
    const sent = transport.messages as Buffer[];
    expect(sent).toHaveLength(bodies.length);
    const decode = zstdClient();
    sent.forEach((message, i) => {
      const payload = JSON.parse(decode(message));
      expect(payload.s).toBe(i + 1);
      expect(payload.d.content).toBe(contents[i]);
    });
  });

  it('declares a window no larger than 64 KiB, so a client decodes with bounded memory', async () => {
    const transport = new MemoryTransport();
    const writer = new ZstdStreamWriter(transport, options({ maxBufferedBytes: 1 << 30 }));
    for (let seq = 1; seq <= 50; seq++) writer.push({ seq, body: frameBody('MESSAGE_CREATE', { content: String(seq).repeat(20_000) }) });
    await new Promise<void>((resolve) => writer.end(resolve));
    const stream = Buffer.concat(transport.messages as Buffer[]);
    const decoded = zstdDecompressSync(stream, { finishFlush: constants.ZSTD_e_flush, params: { [constants.ZSTD_d_windowLogMax]: 16 } }).toString();
    expect(decoded.split('}}{').length).toBe(50);
    expect(() => zstdDecompressSync(stream, { finishFlush: constants.ZSTD_e_flush, params: { [constants.ZSTD_d_windowLogMax]: 15 } })).toThrow();
  });

  it('stops and reports a socket whose unread bytes are over the cap', async () => {
    const transport = new MemoryTransport();
    transport.bufferedAmount = 2_000;
    let slow = 0;
    const writer = new ZstdStreamWriter(transport, options({ maxBufferedBytes: 1_024, onSlowConsumer: () => slow++ }));
    writer.push({ seq: 1, body: frameBody('X', null) });
    await tick();
    writer.push({ seq: 2, body: frameBody('X', null) });
    await tick();
    expect(transport.writes).toBe(0);
    expect(slow).toBe(1);
  });
});

describe('createFrameWriter', () => {
  it('serves exactly zlib-stream and zstd-stream, and plain frames without compress', () => {
    expect(['zlib-stream', 'zstd-stream', 'zstd', 'ZLIB-STREAM', ''].map(isTransportCompression)).toEqual([true, true, false, false, false]);
    const transport = new MemoryTransport();
    expect(createFrameWriter(null, transport, options())).toBeInstanceOf(PlainFrameWriter);
    expect(createFrameWriter('zlib-stream', transport, options())).toBeInstanceOf(ZlibStreamWriter);
    expect(createFrameWriter('zstd-stream', transport, options())).toBeInstanceOf(ZstdStreamWriter);
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
