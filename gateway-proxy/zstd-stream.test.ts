import { Decompress } from 'fzstd';
import { constants, createInflate } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { guildOnShard, messageEvent, TEST_SECRET, tokens, type GatewayFrame } from './edge.test-support.ts';
import { MemoryDeliverySource } from './memory-delivery-source.ts';

/**
 * A client that reads transport-compressed frames as Discord's clients do: one decoding context
 * for the connection, every binary message fed to it and expected to decode, alone and at once,
 * to exactly one whole payload. zstd-stream is decoded by fzstd (pure JS, not node:zlib).
 */
class CompressedClient {
  readonly frames: GatewayFrame[] = [];
  /** Messages that were not one whole JSON payload when they arrived, or were text. */
  readonly undecodable: string[] = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  private readonly decode: (message: Buffer) => Promise<string>;
  private chain = Promise.resolve();

  constructor(edge: Edge, readonly compress: 'zstd-stream' | 'zlib-stream') {
    this.decode = compress === 'zstd-stream' ? fzstdContext() : inflateContext();
    this.ws = new WebSocket(`${edge.gatewayUrl}/?v=10&encoding=json&compress=${compress}`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return void this.undecodable.push(`text: ${data.toString().slice(0, 80)}`);
      // Decoding may be asynchronous (inflate); keep the messages' order.
      this.chain = this.chain.then(async () => {
        const text = await this.decode(data);
        try {
          this.frames.push(JSON.parse(text) as GatewayFrame);
        } catch {
          this.undecodable.push(text.slice(0, 80));
        }
      });
    });
    this.ws.on('close', (code) => (this.closeCode = code));
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  dispatches(type?: string): GatewayFrame[] {
    return this.frames.filter((f) => f.op === 0 && (type === undefined || f.t === type));
  }

  close(): void {
    this.ws.terminate();
  }
}

function fzstdContext(): (message: Buffer) => Promise<string> {
  const out: Uint8Array[] = [];
  const stream = new Decompress((chunk) => void out.push(chunk));
  return async (message) => {
    out.length = 0;
    stream.push(message);
    return Buffer.concat(out).toString();
  };
}

function inflateContext(): (message: Buffer) => Promise<string> {
  const inflate = createInflate({ flush: constants.Z_SYNC_FLUSH });
  const out: Buffer[] = [];
  inflate.on('data', (chunk: Buffer) => out.push(chunk));
  return (message) =>
    new Promise((resolve) => {
      inflate.write(message);
      inflate.flush(constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out.splice(0)).toString()));
    });
}

describe('transport compression at the edge', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function edgeOnMemory() {
    const source = new MemoryDeliverySource({ partitions: 4 });
    const config = loadEdgeConfig({ KAFKA_EVENT_PARTITIONS: '4', EDGE_PORT: '0', EDGE_HOST: '127.0.0.1', EDGE_TOKEN_SECRET: TEST_SECRET, EDGE_DRAIN_GRACE_MS: '50' });
    const edge = await startEdge(config, { logger: silentLogger, registry: createRegistry('edge-zstd', { defaults: false }), deliveries: source });
    cleanups.push(() => edge.close());
    await edge.ready();
    return { edge, source };
  }

  /** HELLO, a heartbeat ACK, READY, then `count` dispatches pushed to the edge, all checked whole and in order. */
  async function exchange(compress: 'zstd-stream' | 'zlib-stream', count: number) {
    const { edge, source } = await edgeOnMemory();
    const guild = guildOnShard(1, 4, 1);
    const client = new CompressedClient(edge, compress);
    cleanups.push(() => client.close());
    await client.opened;
    const hello = await eventually('HELLO', () => client.frames[0], 10_000);
    expect(hello).toMatchObject({ op: 10, s: null, t: null });
    expect(hello.d.heartbeat_interval).toBeGreaterThan(0);
    client.send({ op: 1, d: null });
    await eventually('heartbeat ACK', () => client.frames.find((f) => f.op === 11), 10_000);
    client.send({ op: 2, d: { token: await tokens.mint({ guilds: [guild], ttlSeconds: 600 }), intents: (1 << 9) | (1 << 15) | 1, properties: { os: 'linux', browser: 'test', device: 'test' } } });
    const ready = await eventually('READY', () => client.dispatches('READY')[0], 10_000);
    expect(ready.d.session_id).toEqual(expect.any(String));
    // Sizes from a few bytes to over one zstd block (128 KiB) and past the 64 KiB window.
    const contents = Array.from({ length: count }, (_, i) => `${i} `.repeat(i % 10 === 9 ? 30_000 + i * 100 : 1 + ((i * 53) % 400)));
    contents.forEach((content, i) => source.push(messageEvent(guild, i + 1, { content })));
    await eventually(`${count} messages`, () => (client.dispatches('MESSAGE_CREATE').length >= count ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 50)); // anything extra would have arrived by now
    const messages = client.dispatches('MESSAGE_CREATE');
    expect(client.undecodable).toEqual([]);
    expect(messages.map((m) => m.d.n)).toEqual(contents.map((_, i) => i + 1));
    expect(messages.map((m) => m.d.content)).toEqual(contents);
    // Every dispatch's seq follows the one before it, from READY's.
    const seqs = client.dispatches().map((f) => f.s);
    expect(seqs).toEqual(seqs.map((_, i) => ready.s! - client.dispatches().indexOf(ready) + i));
    expect(client.closeCode).toBeUndefined();
    return client;
  }

  it('zstd-stream: every message decodes at once with fzstd, one context per connection: HELLO, ACK, READY, 60 dispatches', async () => {
    const client = await exchange('zstd-stream', 60);
    expect(client.frames.length).toBeGreaterThanOrEqual(63);
  });

  it('zlib-stream still works as before', async () => {
    await exchange('zlib-stream', 30);
  });

  it('refuses any other compress value with 4002 before HELLO, as before', async () => {
    const { edge } = await edgeOnMemory();
    for (const compress of ['zstd', 'zlib', 'ZSTD-STREAM', 'brotli-stream', '']) {
      const ws = new WebSocket(`${edge.gatewayUrl}/?v=10&encoding=json&compress=${compress}`);
      cleanups.push(() => ws.terminate());
      const received: Buffer[] = [];
      ws.on('message', (data: Buffer) => received.push(data));
      ws.on('error', () => {});
      const code = await new Promise<number>((resolve) => ws.once('close', resolve));
      expect(code, compress).toBe(4002);
      expect(received, compress).toEqual([]);
    }
  });
});
