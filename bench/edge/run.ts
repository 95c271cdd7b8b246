import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocketServer } from 'ws';
import { silentLogger } from '../../core/logger.ts';
import { createRegistry } from '../../core/metrics.ts';
import type { EventEnvelope } from '../../core/events/envelope.ts';
import { loadEdgeConfig, startEdge, createTokenSigner } from '../../gateway-proxy/index.ts';
import { openLoop } from '../kit/open-loop.ts';
import { describePacedCpu, measurePacedCpu, type PacedCpuRow } from './paced-cpu.ts';
import { replayHeapPerSession } from './replay-memory.ts';
import type { LatencySummary } from '../kit/latency.ts';

/**
 * Edge scenario: deliveries per second and added latency with 1,000 and 10,000 connected sessions,
 * next to a plain `ws` loop (one send per socket per message) serving the same clients in the same
 * run, and memory per idle connection. Events are handed to the edge in-process (`edge.publish`),
 * not through Kafka: this measures the edge's dispatch path (fan-out, framing, writes) only.
 * Clients run in a child process. Then CPU per delivery with 100 sessions at paced rates (100
 * and 1,000 msg/s), where events come one by one as they do from Kafka at low rates.
 * `npx tsx bench/edge/run.ts [--sessions 1000,10000] [--seconds 4] [--paced-seconds 5]`
 */
const args = new Map(process.argv.slice(2).map((a, i, all) => [a, all[i + 1]] as const).filter(([a]) => a.startsWith('--')));
const SESSIONS = (args.get('--sessions') ?? '1000,10000').split(',').map(Number);
const SECONDS = Number(args.get('--seconds') ?? 4);
const PACED_SECONDS = Number(args.get('--paced-seconds') ?? 5);
const PACED_SESSIONS = 100;
const PACED_RATES = [100, 1_000];
const LATENCY_DELIVERIES_PER_SECOND = 20_000;
const GUILD = String(123_456_789n << 22n);
const CONTENT = 'x'.repeat(200);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const now = () => performance.timeOrigin + performance.now();

const secret = 'bench-secret';
const config = loadEdgeConfig({
  EDGE_PORT: '0',
  EDGE_HOST: '127.0.0.1',
  EDGE_TOKEN_SECRET: secret,
  EDGE_CONNECTIONS_PER_IP: '1000000',
  EDGE_MAX_CONNECTIONS: '1000000',
  EDGE_IDENTIFIES_PER_5S: '1000000',
  EDGE_MAX_BUFFERED_BYTES: String(64 << 20),
  EDGE_HEARTBEAT_INTERVAL_MS: '3600000',
  // Closed sessions are dropped soon, so one phase's leftovers do not cost the next one CPU.
  EDGE_RESUME_WINDOW_MS: '1000',
});
const edge = await startEdge(config, { logger: silentLogger, registry: createRegistry('bench-edge', { defaults: false }), consumeDeliveries: false });
const token = await createTokenSigner(secret).mint({ subject: 'bench', guilds: [GUILD], ttlSeconds: 3600 });

const plainHttp = createServer();
const plain = new WebSocketServer({ server: plainHttp, perMessageDeflate: false });
plainHttp.listen(0, '127.0.0.1');
await once(plainHttp, 'listening');
const plainUrl = `ws://127.0.0.1:${(plainHttp.address() as AddressInfo).port}`;

const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', new URL('./clients.ts', import.meta.url).pathname], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const replies: ((m: any) => void)[] = [];
child.on('message', (m) => replies.shift()?.(m));
const nextReply = () => new Promise<any>((resolve) => replies.push(resolve));
const ask = (message: unknown) => {
  const reply = nextReply();
  child.send(message as never);
  return reply;
};
await nextReply(); // started

let seq = 0;
function event(): EventEnvelope {
  return { v: 1, id: `b${seq}`, type: 'MESSAGE_CREATE', guild_id: GUILD, channel_id: GUILD, source: 'http', received_at: Date.now(), trace_id: 'b', d: { id: String(seq++), content: CONTENT, t: now() } };
}
const targets = {
  edge: { url: edge.gatewayUrl, gateway: true, publish: () => void edge.publish(event()) },
  'plain ws loop': {
    url: plainUrl,
    gateway: false,
    publish: () => {
      const e = event();
      const json = JSON.stringify({ t: e.type, s: seq, op: 0, d: e.d });
      for (const ws of plain.clients) ws.send(json);
    },
  },
};

interface Row { server: string; sessions: number; deliveriesPerSecond: number; latency: LatencySummary; bytesPerIdleConnection?: { rss: number; heap: number } }
const rows: Row[] = [];
for (const sessions of SESSIONS) {
  for (const [server, target] of Object.entries(targets)) {
    gc();
    const before = process.memoryUsage();
    await ask({ cmd: 'connect', url: target.url, count: sessions, gateway: target.gateway, token });
    await new Promise((r) => setTimeout(r, 500));
    gc();
    const after = process.memoryUsage();
    const heapBytes = after.heapUsed + after.external - before.heapUsed - before.external;

    // Throughput: rounds of events published in one tick; the next round once the clients have all of them.
    const perRound = Math.max(1, Math.round(100_000 / sessions));
    let delivered = 0;
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000) {
      const reached = ask({ cmd: 'expect', total: delivered + perRound * sessions });
      for (let i = 0; i < perRound; i++) target.publish();
      delivered = (await reached).received;
    }
    const deliveriesPerSecond = delivered / ((performance.now() - start) / 1000);

    // Added latency at a fixed, moderate load: publish time to the client's receive, on every 10th socket.
    child.send({ cmd: 'measure', on: true });
    await openLoop({ ratePerSecond: LATENCY_DELIVERIES_PER_SECOND / sessions, durationMs: 3_000, fire: () => target.publish() });
    await new Promise((r) => setTimeout(r, 300));
    const { latency } = await ask({ cmd: 'stats' });
    child.send({ cmd: 'measure', on: false });
    await ask({ cmd: 'close' });
    await new Promise((r) => setTimeout(r, 500));

    const row: Row = { server, sessions, deliveriesPerSecond, latency };
    if (server === 'edge') row.bytesPerIdleConnection = { rss: (after.rss - before.rss) / sessions, heap: heapBytes / sessions };
    rows.push(row);
    console.log(
      `${server.padEnd(14)} ${String(sessions).padStart(6)} sessions: ${Math.round(deliveriesPerSecond).toLocaleString('en')} deliveries/s; ` +
        `latency p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms (${latency.count} samples at ${LATENCY_DELIVERIES_PER_SECOND.toLocaleString('en')}/s)` +
        (row.bytesPerIdleConnection ? `; idle connection: ${(row.bytesPerIdleConnection.rss / 1024).toFixed(1)} KB rss, ${(row.bytesPerIdleConnection.heap / 1024).toFixed(1)} KB heap+external` : ''),
    );
  }
}

// After the rounds above: the closed sessions' resume window (1 s here) has passed and the kernel has torn their sockets down.
await new Promise((r) => setTimeout(r, 3_000));
gc();
const paced: PacedCpuRow[] = await measurePacedCpu({
  targets: Object.entries(targets).map(([name, target]) => ({ name, ...target })),
  connect: async ({ url, gateway }, count) => {
    await ask({ cmd: 'connect', url, count, gateway, token });
    await new Promise((r) => setTimeout(r, 500));
  },
  received: (total) => ask({ cmd: 'expect', total }),
  disconnect: async () => {
    await ask({ cmd: 'close' });
    await new Promise((r) => setTimeout(r, 500));
  },
  makeEvent: () => void event(),
  sessions: PACED_SESSIONS,
  rates: PACED_RATES,
  seconds: PACED_SECONDS,
});
for (const line of describePacedCpu(paced)) console.log(line);

const replay = { capacity: config.EDGE_RESUME_BUFFER_EVENTS, heapBytesPerSession: replayHeapPerSession(gc, { capacity: config.EDGE_RESUME_BUFFER_EVENTS }) };
console.log(`heap per session with a full ${replay.capacity.toLocaleString('en')}-frame replay buffer: ${(replay.heapBytesPerSession / 1024).toFixed(1)} KB`);

const dir = new URL('../results/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const file = `${dir}edge-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, rows, paced, replay }, null, 2));
console.log(`results: ${file}`);
child.kill();
plain.close();
plainHttp.close();
await edge.close();
