import type { Socket } from 'node:net';
import { constants, createDeflate, type Deflate } from 'node:zlib';
import { WebSocket } from 'ws';

/** Writes gateway payloads (JSON text) to one socket, in order. */
export interface FrameWriter {
  write(text: string): void;
  close(): void;
}

export function plainWriter(socket: WebSocket): FrameWriter {
  const cork = corker(socket);
  return {
    write(text) {
      if (socket.readyState !== WebSocket.OPEN) return;
      cork();
      socket.send(text);
    },
    close() {},
  };
}

/**
 * Corks the TCP socket until the end of the current tick, so a batch of sends becomes one writev
 * instead of one syscall per frame (the simulator's main cost when it is not corked). ws offers no
 * public cork; its `_socket` (the net.Socket) has been there since ws 1.x. Without it, no corking.
 */
function corker(socket: WebSocket): () => void {
  const raw = (socket as unknown as { _socket?: Socket })._socket;
  let corked = false;
  const uncork = () => {
    corked = false;
    raw?.uncork();
  };
  return () => {
    if (corked || !raw) return;
    corked = true;
    raw.cork();
    process.nextTick(uncork);
  };
}

const SYNC_FLUSH_SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/**
 * An empty stored block. zlib emits one again when a sync flush ends exactly at the end of its
 * output buffer ("make sure that avail_out is greater than six to avoid repeated flush markers"),
 * and Node reuses one output buffer across writes, so this happens now and then. Sent alone it
 * inflates to nothing, which @discordjs/ws then fails to parse; it carries no data, so it is dropped.
 */
const REPEATED_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/**
 * Discord's `compress=zlib-stream`: one deflate context for the whole connection, every payload
 * flushed with Z_SYNC_FLUSH, so each websocket message is a binary frame ending in 00 00 ff ff
 * that the client inflates with its own single context. Deflate output arrives asynchronously but
 * in write order; chunks are gathered until a flush boundary and sent as one message.
 */
export function zlibStreamWriter(socket: WebSocket): FrameWriter {
  const cork = corker(socket);
  const deflate: Deflate = createDeflate({ flush: constants.Z_SYNC_FLUSH, chunkSize: 64 * 1024 });
  const frames = new FlushFrameAssembler();
  deflate.on('data', (chunk: Buffer) => {
    const message = frames.push(chunk);
    if (!message || socket.readyState !== WebSocket.OPEN) return;
    cork();
    socket.send(message, { binary: true });
  });
  // A deflate error can only come from a bug here; the socket is useless afterwards.
  deflate.on('error', () => socket.terminate());
  return {
    write(text) {
      if (!deflate.destroyed) deflate.write(text);
    },
    close() {
      deflate.destroy();
    },
  };
}

/** Gathers deflate output chunks into one websocket message per sync flush. */
export class FlushFrameAssembler {
  private pending: Buffer[] = [];

  /** The completed message when `chunk` ends a flush, else undefined. */
  push(chunk: Buffer): Buffer | undefined {
    if (this.pending.length === 0 && chunk.equals(REPEATED_FLUSH_MARKER)) return undefined;
    this.pending.push(chunk);
    if (!endsWithFlush(chunk)) return undefined;
    const message = this.pending.length === 1 ? chunk : Buffer.concat(this.pending);
    this.pending = [];
    return message;
  }
}

function endsWithFlush(chunk: Buffer): boolean {
  return chunk.length >= 4 && chunk.subarray(chunk.length - 4).equals(SYNC_FLUSH_SUFFIX);
}
