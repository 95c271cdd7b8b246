import { spawn } from 'node:child_process';
import { constants } from 'node:zlib';
import { frameBody } from '../../core/discord/gateway/frames.ts';
import type { GatewayTransport } from '../../core/discord/gateway/transport.ts';
import { FlushScheduler, PlainFrameWriter, ZlibStreamWriter, ZstdStreamWriter, ZSTD_STREAM_PARAMS, type FrameWriter, type WriterOptions } from '../../core/discord/gateway/writer.ts';

/**
 * Resident memory per connection of each transport compression, with the edge's own writers:
 * `npx tsx bench/edge/compress-memory.ts [--connections 1000] [--traffic-kib 512]`. Each mode runs
 * in a child of its own: RSS after GC, before and after opening the writers and sending each one
 * `traffic-kib` of generated MESSAGE_CREATEs; generating them leaves heap behind as well, so
 * `kib_over_plain` is what the compression adds. A compressor's window and tables become resident
 * only as traffic touches them: the traffic must exceed the window (64 KiB for ours; 2 MiB for
 * zstd level 3's defaults, row `zstd-level3-defaults`, which needs `--traffic-kib 2560` to show
 * its full cost). Sockets are left out: they cost the same in every mode (bench/edge/run.ts).
 */
type Mode = 'plain' | 'zlib-stream' | 'zstd-stream' | 'zstd-level3-defaults';
const MODES: Mode[] = ['plain', 'zlib-stream', 'zstd-stream', 'zstd-level3-defaults'];

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** Counts what a socket would get; keeps nothing. */
class DiscardTransport implements GatewayTransport {
  isOpen = true;
  bufferedAmount = 0;
  bytes = 0;
  send(message: Buffer): void {
    this.bytes += message.length;
  }
  writeFrames(frames: Buffer): void {
    this.bytes += frames.length;
  }
  close(): void {}
  terminate(): void {}
  onMessage(): void {}
  onClose(): void {}
}

/** Chat-like dispatches from a seeded generator: varied enough that no window holds all of it. */
function* dispatches(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const words = Array.from({ length: 3000 }, (_, i) => (i * 2654435761).toString(36).slice(0, 2 + (i % 8)));
  for (let seq = 1; ; seq++) {
    const content = Array.from({ length: 5 + Math.floor(next() * 60) }, () => words[Math.floor(next() * words.length)]).join(' ');
    yield frameBody('MESSAGE_CREATE', {
      id: String(1_300_000_000_000_000_000n + BigInt(Math.floor(next() * 1e15))),
      channel_id: String(1_200_000_000_000_000_000n + BigInt(Math.floor(next() * 50))),
      guild_id: String(1_100_000_000_000_000_000n + BigInt(Math.floor(next() * 5))),
      author: { id: String(Math.floor(next() * 1e9)), username: `user${Math.floor(next() * 500)}`, global_name: null, bot: false },
      content,
      timestamp: new Date(1_760_000_000_000 + seq * 997).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      attachments: [],
      embeds: [],
      type: 0,
    });
  }
}

async function measure(mode: Mode, connections: number, trafficBytes: number): Promise<Record<string, number | string>> {
  const gc = globalThis.gc!;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let flushed = 0;
  let wake: (() => void) | undefined;
  const options: WriterOptions = {
    scheduler: new FlushScheduler(),
    maxBufferedBytes: Infinity,
    onSlowConsumer: () => {},
    onFlushed: (frames) => {
      flushed += frames.length;
      wake?.();
    },
  };
  const level3 = { [constants.ZSTD_c_compressionLevel]: 3 };
  const make = (t: GatewayTransport): FrameWriter =>
    mode === 'plain' ? new PlainFrameWriter(t, options) : mode === 'zlib-stream' ? new ZlibStreamWriter(t, options) : new ZstdStreamWriter(t, options, mode === 'zstd-stream' ? ZSTD_STREAM_PARAMS : level3);
  await settle();
  const before = process.memoryUsage().rss;
  const writers: FrameWriter[] = [];
  const transports: DiscardTransport[] = [];
  let raw = 0;
  const started = process.cpuUsage();
  for (let c = 0; c < connections; c++) {
    const transport = new DiscardTransport();
    const writer = make(transport);
    writers.push(writer);
    transports.push(transport);
    const source = dispatches(c + 1);
    for (let sent = 0, seq = 1; sent < trafficBytes; ) {
      // A tick's worth at a time, as the edge pushes them; then wait until all went out.
      const target = flushed;
      let pushed = 0;
      for (let i = 0; i < 16 && sent < trafficBytes; i++, pushed++) {
        const frame = { seq: seq++, body: source.next().value! };
        sent += frame.body.head.length + frame.body.tail.length;
        writer.push(frame);
      }
      while (flushed < target + pushed) await new Promise<void>((r) => (wake = r));
    }
    raw += trafficBytes;
  }
  const cpu = process.cpuUsage(started);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await settle();
  const after = process.memoryUsage().rss;
  const wire = transports.reduce((sum, t) => sum + t.bytes, 0);
  for (const writer of writers) writer.stop();
  return {
    mode,
    kib_per_connection: Math.round((after - before) / connections / 1024),
    wire_ratio: Number((wire / raw).toFixed(3)),
    // The main thread's and the zlib thread pool's (the process's CPU), per MiB of JSON sent.
    cpu_ms_per_mib: Math.round((cpuSeconds * 1000) / (raw / 2 ** 20)),
  };
}

const connections = arg('connections', 1000);
const trafficKib = arg('traffic-kib', 512);
const child = process.argv.indexOf('--child');
if (child !== -1) {
  const result = await measure(process.argv[child + 1] as Mode, connections, trafficKib * 1024);
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const rows: Record<string, number | string>[] = [];
  for (const mode of MODES) {
    const output = await new Promise<string>((resolve, reject) => {
      const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', new URL(import.meta.url).pathname, '--child', mode, '--connections', String(connections), '--traffic-kib', String(trafficKib)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d));
      proc.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${mode}: exit ${code}`))));
    });
    rows.push(JSON.parse(output));
  }
  // Generating the traffic leaves heap behind too; plain's figure is that baseline.
  const plain = rows.find((r) => r.mode === 'plain')!.kib_per_connection as number;
  for (const row of rows) row.kib_over_plain = (row.kib_per_connection as number) - plain;
  console.log(`${connections} connections, ${trafficKib} KiB of dispatches each`);
  console.table(rows);
}
