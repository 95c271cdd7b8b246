import type { GatewayTransport } from './transport.ts';

/**
 * A transport in memory, for tests of the gateway server without sockets: it records what the
 * server wrote (frames split back into messages, and how many writes it took) and lets the test
 * play the client.
 */
export class MemoryTransport implements GatewayTransport {
  isOpen = true;
  bufferedAmount = 0;
  /** Every message the server sent, in order: text frames decoded to strings, binary ones as they are. */
  readonly messages: (string | Buffer)[] = [];
  /** How many transport writes carried them (one per `writeFrames` or `send`). */
  writes = 0;
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  private messageListener: ((data: Buffer, isBinary: boolean) => void) | undefined;
  private closeListener: ((code: number) => void) | undefined;

  send(message: Buffer, binary: boolean): void {
    this.writes++;
    this.messages.push(binary ? message : message.toString());
  }

  writeFrames(frames: Buffer): void {
    this.writes++;
    this.messages.push(...decodeTextFrames(frames));
  }

  close(code: number, reason: string): void {
    if (!this.isOpen) return;
    this.closedWith = { code, reason };
    this.gone(code);
  }

  terminate(): void {
    if (!this.isOpen) return;
    this.terminated = true;
    this.gone(1006);
  }

  onMessage(listener: (data: Buffer, isBinary: boolean) => void): void {
    this.messageListener = listener;
  }

  onClose(listener: (code: number) => void): void {
    this.closeListener = listener;
  }

  /** The client sends `payload` (JSON-encoded unless it is a string already). */
  receive(payload: unknown): void {
    this.messageListener?.(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), false);
  }

  /** The text messages, parsed. */
  payloads(): { op: number; d: any; s: number | null; t: string | null }[] {
    return this.messages.filter((m): m is string => typeof m === 'string').map((m) => JSON.parse(m));
  }

  /** The client went away. */
  drop(): void {
    this.gone(1006);
  }

  private gone(code: number): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.closeListener?.(code);
  }
}

/** Splits unmasked server frames (RFC 6455 §5.2) into their text payloads; throws on anything but FIN + text. */
export function decodeTextFrames(bytes: Buffer): string[] {
  const messages: string[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    if (bytes[offset] !== 0x81) throw new Error(`not a final text frame at ${offset}: 0x${bytes[offset]?.toString(16)}`);
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
