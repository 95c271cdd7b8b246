/**
 * What the gateway server needs of one websocket. The connection and the writers speak only to
 * this, so the protocol logic runs (and is tested) without sockets, and exactly one adapter
 * (ws-transport.ts) knows how a websocket library works inside.
 */
export interface GatewayTransport {
  /** Frames may still be written. */
  readonly isOpen: boolean;
  /** Bytes accepted but not yet handed to the kernel: what the client has not read. */
  readonly bufferedAmount: number;
  /** One websocket message. */
  send(message: Buffer, binary: boolean): void;
  /** Bytes that already are complete websocket text frames (RFC 6455, unmasked), in one write. */
  writeFrames(frames: Buffer): void;
  /** A close frame, after everything written before it. */
  close(code: number, reason: string): void;
  /** Drops the connection without a close frame, as a network failure would. */
  terminate(): void;
  onMessage(listener: (data: Buffer, isBinary: boolean) => void): void;
  /** Either side closed, or the connection broke; called once. */
  onClose(listener: (code: number) => void): void;
}
