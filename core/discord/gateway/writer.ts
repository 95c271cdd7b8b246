import type { Transform } from 'node:stream';
import { constants, createDeflate, createZstdCompress, type Zlib } from 'node:zlib';
import { MAX_TIMER_MS } from '../../config.ts';
import { frameBytes, frameLength, writeFrame, type Outgoing } from './frames.ts';
import type { GatewayTransport } from './transport.ts';

export interface Flushable {
  flush(): void;
}

export interface FlushSchedulerOptions {
  /**
   * The shortest time between two flush rounds. 0: every round at the end of its event-loop turn
   * (setImmediate). Above 0, a throttle: frames due while no round ran for this long still go at
   * the end of the turn (no added latency when events are apart), but frames due sooner wait for
   * the window to close, so under load each socket gets at most one write per window, carrying
   * every frame due in it (fewer socket writes, each one a kernel write here and a wake-up and read
   * at the client), for at most this many ms of added latency.
   */
  windowMs?: number;
  /** The clock (ms); tests pass a fake one. */
  now?: () => number;
}

/**
 * Collects the writers that got frames and flushes each once per round: every frame one socket is
 * due in a round goes out in one write (5–7× cheaper than a write per frame, see REFERENCE.md).
 * A round runs at the end of the event-loop turn, or, with `windowMs`, no sooner than that long
 * after the previous round. One per server.
 */
export class FlushScheduler {
  private pending = new Set<Flushable>();
  private scheduled = false;
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastRound = Number.NEGATIVE_INFINITY;

  constructor({ windowMs = 0, now = performance.now.bind(performance) }: FlushSchedulerOptions = {}) {
    if (!(windowMs >= 0 && windowMs <= MAX_TIMER_MS)) throw new RangeError(`windowMs must be from 0 to ${MAX_TIMER_MS}, got ${windowMs}`);
    this.windowMs = windowMs;
    this.now = now;
  }

  schedule(writer: Flushable): void {
    this.pending.add(writer);
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.windowMs > 0 ? this.lastRound + this.windowMs - this.now() : 0;
    if (wait > 0) setTimeout(this.run, wait);
    else setImmediate(this.run);
  }

  private readonly run = () => {
    this.scheduled = false;
    if (this.windowMs > 0) this.lastRound = this.now();
    // Swapped out first: a writer scheduled by another's flush (a callback) lands in the next
    // round instead of in a set about to be cleared, where its frames would wait forever.
    const writers = this.pending;
    this.pending = new Set();
    for (const writer of writers) writer.flush();
  };
}

export interface WriterOptions {
  scheduler: FlushScheduler;
  /** Unsent bytes a socket may hold; a flush that finds more runs `onSlowConsumer` and writes nothing more. */
  maxBufferedBytes: number;
  onSlowConsumer: () => void;
  /** Frames that just went to the transport as `bytes` websocket bytes (metrics). */
  onFlushed?: (frames: readonly Outgoing[], bytes: number) => void;
}

export interface FrameWriter {
  push(frame: Outgoing): void;
  /** Writes what is queued, then calls `done` (e.g. to send a close frame after it); nothing is accepted after. */
  end(done: () => void): void;
  /** Drops whatever is queued; nothing is written after this. */
  stop(): void;
}

/**
 * Uncompressed connections: the frames of one scheduler round (a tick, or its window) become one
 * buffer of websocket text frames, one transport write. Dispatch bodies are copied straight from their shared serialization with the
 * session's `s` spliced in (frames.ts); this loop is the edge's main cost.
 */
export class PlainFrameWriter implements FrameWriter, Flushable {
  private queue: Outgoing[] = [];
  private stopped = false;

  constructor(
    private readonly transport: GatewayTransport,
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
    const { transport } = this;
    if (!transport.isOpen) return;
    // What the client has not read yet, not this flush: a RESUME's replay may be larger than the
    // cap on its own. Memory per socket stays under the cap plus one round's frames.
    if (transport.bufferedAmount > this.options.maxBufferedBytes) {
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
    transport.writeFrames(out);
    this.options.onFlushed?.(frames, total);
  }
}

const SYNC_FLUSH_SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/**
 * An empty stored block. zlib emits one more when a sync flush ends exactly at the end of its
 * output buffer ("make sure that avail_out is greater than six to avoid repeated flush markers"),
 * and Node then calls deflate again, so it arrives as a chunk of its own now and then. It carries
 * no data; sent alone it inflates to nothing, which @discordjs/ws then fails to parse. Dropped.
 */
export const REPEATED_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** One sync flush's deflate output as one websocket message; undefined when it holds no data. */
export function flushMessage(chunks: readonly Buffer[]): Buffer | undefined {
  let end = chunks.length;
  // Only after a chunk that already ended a flush is a marker repeated (an empty payload never is flushed).
  while (end > 1 && chunks[end - 1]!.equals(REPEATED_FLUSH_MARKER) && endsWithFlush(chunks[end - 2]!)) end--;
  if (end === 0 || (end === 1 && chunks[0]!.equals(REPEATED_FLUSH_MARKER))) return undefined;
  return end === 1 ? chunks[0] : Buffer.concat(chunks.slice(0, end));
}

function endsWithFlush(chunk: Buffer): boolean {
  return chunk.length >= 4 && chunk.subarray(chunk.length - 4).equals(SYNC_FLUSH_SUFFIX);
}

/**
 * What a compressed writer needs of its stream: node:zlib's deflate and zstd compressors are both
 * this, and differ only in how a flush is asked for and how its output becomes a message.
 */
interface StreamCompression {
  readonly stream: Transform & Zlib;
  /** The flush that ends the message: everything written so far becomes decodable output. */
  readonly flushKind: number;
  /** One flush's output as one websocket message; undefined when it holds no data. */
  message(chunks: readonly Buffer[]): Buffer | undefined;
}

/**
 * Transport compression as Discord offers it (zlib-stream, zstd-stream): one compression stream
 * per connection, each payload flushed and sent as its own binary message that the client decodes
 * with its own single context. Compression state is per connection by the protocol's design, so
 * this is per-session work. A round's frames still go in one flush (FlushScheduler), each
 * serialized once (frames.ts).
 */
class CompressedStreamWriter implements FrameWriter, Flushable {
  private queue: Outgoing[] = [];
  private stopped = false;
  private ending = false;
  private output: Buffer[] = [];
  private compressing = 0;
  private readonly stream: Transform & Zlib;

  constructor(
    private readonly transport: GatewayTransport,
    private readonly options: WriterOptions,
    private readonly compression: StreamCompression,
  ) {
    this.stream = compression.stream;
    this.stream.on('data', (chunk: Buffer) => this.output.push(chunk));
    // A compressor error can only come from a bug here; nothing more can be sent on this stream.
    this.stream.on('error', () => this.stop());
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
    this.stream.flush(this.compression.flushKind, () => {
      this.stop();
      done();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue = [];
    this.stream.destroy();
  }

  flush(): void {
    const frames = this.queue;
    if (frames.length === 0 || this.stopped) return;
    this.queue = [];
    if (!this.transport.isOpen) return;
    // Compressed sizes are unknown until the compressor is done: bound what is waiting instead.
    if (this.transport.bufferedAmount > this.options.maxBufferedBytes || this.compressing > this.options.maxBufferedBytes) {
      this.stop();
      this.options.onSlowConsumer();
      return;
    }
    const { stream } = this;
    const { flushKind } = this.compression;
    for (const frame of frames) {
      const payload = frameBytes(frame);
      this.compressing += payload.length;
      stream.write(payload);
      stream.flush(flushKind, () => {
        this.compressing -= payload.length;
        const message = this.compression.message(this.output);
        this.output = [];
        if (!message || this.stopped || !this.transport.isOpen) return;
        this.transport.send(message, true);
        this.options.onFlushed?.([frame], message.length);
      });
    }
  }
}

/** `compress=zlib-stream`: one deflate context, each payload sync-flushed (ending in 00 00 ff ff). */
export class ZlibStreamWriter extends CompressedStreamWriter {
  constructor(transport: GatewayTransport, options: WriterOptions) {
    super(transport, options, { stream: createDeflate(), flushKind: constants.Z_SYNC_FLUSH, message: flushMessage });
  }
}

/**
 * zstd parameters per connection. A compressor's resident memory follows its window (an input
 * buffer of window + block) and match tables, which traffic touches over time; zstd's level 3
 * defaults (2 MiB window, 2^17 + 2^16 table entries) end at several times a deflate context per
 * connection. A gateway message is a few KiB and mostly repeats the ones just before it, so a
 * 64 KiB window with level 1's small table (2^13 entries) kept the ratio of level 3 with tables
 * bounded alike, for ~60 KiB less per connection, and sits just under a deflate context
 * (bench/edge/compress-memory.ts; figures in bench/README.md).
 * The window also bounds what the client must hold to decode: the frame header declares it.
 */
export const ZSTD_STREAM_PARAMS: Readonly<Record<number, number>> = {
  [constants.ZSTD_c_compressionLevel]: 1,
  [constants.ZSTD_c_windowLog]: 16,
};

/**
 * `compress=zstd-stream`: one zstd frame per connection that never ends, each payload flushed
 * with ZSTD_e_flush (the block is closed, so the client's streaming decoder yields it at once).
 */
export class ZstdStreamWriter extends CompressedStreamWriter {
  /** `params` other than the default only for measuring them (bench/edge/compress-memory.ts). */
  constructor(transport: GatewayTransport, options: WriterOptions, params: Readonly<Record<number, number>> = ZSTD_STREAM_PARAMS) {
    super(transport, options, { stream: createZstdCompress({ params }), flushKind: constants.ZSTD_e_flush, message: joinChunks });
  }
}

function joinChunks(chunks: readonly Buffer[]): Buffer | undefined {
  if (chunks.length === 0) return undefined;
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** The `compress` values a client may ask for; without one, frames are plain text. */
export const TRANSPORT_COMPRESSIONS = ['zlib-stream', 'zstd-stream'] as const;
export type TransportCompression = (typeof TRANSPORT_COMPRESSIONS)[number];

export function isTransportCompression(value: string): value is TransportCompression {
  return (TRANSPORT_COMPRESSIONS as readonly string[]).includes(value);
}

/** The writer for a connection that asked for `compress` (null: none). */
export function createFrameWriter(compress: TransportCompression | null, transport: GatewayTransport, options: WriterOptions): FrameWriter {
  switch (compress) {
    case null:
      return new PlainFrameWriter(transport, options);
    case 'zlib-stream':
      return new ZlibStreamWriter(transport, options);
    case 'zstd-stream':
      return new ZstdStreamWriter(transport, options);
  }
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
