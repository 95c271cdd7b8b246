import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import type { GatewayTransport } from './transport.ts';

/**
 * The one place that knows `ws` inside. `ws` has no public call to write frames it did not build,
 * and a tick's frames written as one buffer straight to the TCP socket are 5–7× cheaper than a
 * `send` each (REFERENCE.md), so `writeFrames` uses its `_socket` (there since ws 1.x). That is
 * only sound with permessage-deflate off: then `ws` writes its own frames (pings, close) to the
 * same socket synchronously and the order on the wire is the order of the calls.
 */
export class WsTransport implements GatewayTransport {
  private readonly socket: Socket;

  constructor(
    private readonly ws: WebSocket,
    onError: (err: Error) => void = () => {},
  ) {
    this.socket = (ws as unknown as { _socket: Socket })._socket;
    ws.on('error', onError);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(message: Buffer, binary: boolean): void {
    this.ws.send(message, { binary });
  }

  writeFrames(frames: Buffer): void {
    this.socket.write(frames);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  onMessage(listener: (data: Buffer, isBinary: boolean) => void): void {
    this.ws.on('message', (data: RawData, isBinary: boolean) => listener(toBuffer(data), isBinary));
  }

  onClose(listener: (code: number) => void): void {
    this.ws.once('close', (code: number) => listener(code));
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
