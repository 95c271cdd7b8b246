import type { Socket } from 'node:net';
import { constants, createDeflate, type Deflate } from 'node:zlib';
import { WebSocket } from 'ws';
import { frameLength, writeFrame, type SequencedFrame } from './serialize.ts';
import type { EdgeMetrics } from './metrics.ts';

/** A frame due to a socket: a dispatch (shared body + seq) or a whole control frame. */
export type Outgoing = SequencedFrame | Buffer;

export interface Flushable {
  flush(): void;
}

/**
 * Collects the writers that got frames during this turn of the event loop and flushes each once,
 * after I/O: every frame one socket is due in a tick goes out in one write (5–7× cheaper than a
 * write per frame, see REFERENCE.md).
 */
export class FlushScheduler {
  private readonly pending = new Set<Flushable>();
  private scheduled = false;

  schedule(writer: Flushable): void {
    this.pending.add(writer);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = () => {
    this.scheduled = false;
    for (const writer of this.pending) writer.flush();
    this.pending.clear();
  };
}

export interface WriterOptions {
  scheduler: FlushScheduler;
  metrics: EdgeMetrics;
  /** Unsent bytes a socket may hold; a flush that finds more runs `onSlowConsumer` and writes nothing more. */
  maxBufferedBytes: number;
  onSlowConsumer: () => void;
}

export interface FrameWriter {
  push(frame: Outgoing): void;
  /** Writes what is queued, then calls `done` (e.g. to send a close frame after it); nothing is accepted after. */
  end(done: () => void): void;
  /** Drops whatever is queued; nothing is written after this. */
  stop(): void;
}

/**
 * Uncompressed connections: the tick's frames become one buffer of websocket text frames written
 * straight to the TCP socket. permessage-deflate is off, so `ws` writes its own frames (pings,
 * close) to the same socket synchronously and the order on the wire is the order of the calls.
 */
export class SocketWriter implements FrameWriter, Flushable {
  private queue: Outgoing[] = [];
  private stopped = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: WriterOptions,
  ) {}

  push(frame: Outgoing): void {
    if (this.stopped) return;
    if (this.queue.length === 0) this.options.scheduler.schedule(this);
    this.queue.push(frame);
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  end(done: () => void): void {
    this.flush();
    this.stop();
    done();
  }

  flush(): void {
    const frames = this.queue;
    if (frames.length === 0 || this.stopped) return;
    this.queue = [];
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // What the client has not read yet, not this flush: a RESUME's replay may be larger than the
    // cap on its own. Memory per socket stays under the cap plus one tick's frames.
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.stop();
      this.options.onSlowConsumer();
      return;
    }
    let total = 0;
    for (const frame of frames) {
      const length = payloadLength(frame);
      total += headerLength(length) + length;
    }
    const out = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const frame of frames) {
      offset = writeHeader(out, offset, payloadLength(frame));
      offset = Buffer.isBuffer(frame) ? offset + frame.copy(out, offset) : writeFrame(frame, out, offset);
    }
    rawSocket(this.ws).write(out);
    recordFlush(this.options.metrics, frames, total);
  }
}

/**
 * `compress=zlib-stream`: one deflate context per connection, each message flushed with
 * Z_SYNC_FLUSH (ending in 00 00 ff ff) and sent as its own binary message. Compression state is
 * per connection by the protocol's design, so this is per-session work; it is off by default.
 */
export class ZlibStreamWriter implements FrameWriter, Flushable {
  private queue: Outgoing[] = [];
  private stopped = false;
  private ending = false;
  private readonly deflate: Deflate = createDeflate();
  private output: Buffer[] = [];
  private compressing = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: WriterOptions,
  ) {
    this.deflate.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.deflate.on('error', () => this.stop());
  }

  push(frame: Outgoing): void {
    if (this.stopped || this.ending) return;
    if (this.queue.length === 0) this.options.scheduler.schedule(this);
    this.queue.push(frame);
  }

  end(done: () => void): void {
    if (this.ending) return;
    this.flush();
    this.ending = true;
    if (this.stopped) return done();
    // The flush callbacks run in order: this one after every frame queued before it was sent.
    this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
      this.stop();
      done();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    this.deflate.destroy();
  }

  flush(): void {
    const frames = this.queue;
    if (frames.length === 0 || this.stopped) return;
    this.queue = [];
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // Compressed sizes are unknown until deflate is done: bound what is waiting instead.
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes || this.compressing > this.options.maxBufferedBytes) {
      this.stop();
      this.options.onSlowConsumer();
      return;
    }
    for (const frame of frames) {
      const payload = Buffer.isBuffer(frame) ? frame : toBuffer(frame);
      this.compressing += payload.length;
      this.deflate.write(payload);
      this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.compressing -= payload.length;
        const message = Buffer.concat(this.output);
        this.output = [];
        if (this.stopped || this.ws.readyState !== WebSocket.OPEN) return;
        this.ws.send(message, { binary: true });
        recordFlush(this.options.metrics, [frame], message.length);
      });
    }
  }
}

function toBuffer(frame: SequencedFrame): Buffer {
  const out = Buffer.allocUnsafe(frameLength(frame));
  writeFrame(frame, out, 0);
  return out;
}

function recordFlush(metrics: EdgeMetrics, frames: Outgoing[], bytes: number): void {
  let dispatches = 0;
  let oldest = Infinity;
  for (const frame of frames) {
    if (Buffer.isBuffer(frame)) continue;
    dispatches++;
    if (frame.body.receivedAt > 0 && frame.body.receivedAt < oldest) oldest = frame.body.receivedAt;
  }
  metrics.bytesOut.inc(bytes);
  if (dispatches > 0) metrics.eventsDelivered.inc(dispatches);
  if (oldest !== Infinity) metrics.sessionLag.observe(Math.max(0, Date.now() - oldest) / 1000);
}

function payloadLength(frame: Outgoing): number {
  return Buffer.isBuffer(frame) ? frame.length : frameLength(frame);
}

/** Server frames are unmasked: 2, 4 or 10 header bytes (RFC 6455 §5.2). */
function headerLength(payload: number): number {
  return payload < 126 ? 2 : payload <= 0xffff ? 4 : 10;
}

function writeHeader(out: Buffer, offset: number, payload: number): number {
  out[offset++] = 0x81; // FIN + text
  if (payload < 126) {
    out[offset++] = payload;
  } else if (payload <= 0xffff) {
    out[offset++] = 126;
    out.writeUInt16BE(payload, offset);
    offset += 2;
  } else {
    out[offset++] = 127;
    out.writeBigUInt64BE(BigInt(payload), offset);
    offset += 8;
  }
  return offset;
}

function rawSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}
