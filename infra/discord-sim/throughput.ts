import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents, type SessionInfo } from '@discordjs/ws';
import { z } from 'zod';
import { env, loadEnv } from '../../core/config.ts';

/**
 * How many dispatches/s the simulator pushes into one unmodified @discordjs/ws shard. The simulator
 * runs as its own process (the CLI), the client here, so each has its own event loop:
 *
 *   npx tsx infra/discord-sim/throughput.ts            # BENCH_RATE=100000 BENCH_TOTAL=200000
 *
 * The simulator sends at BENCH_RATE; the figure is what the client received per second from its
 * first to its last traffic dispatch. Informational only: it depends on the machine and its load.
 */
const config = loadEnv({
  BENCH_RATE: env.int(100_000, { min: 1 }),
  BENCH_TOTAL: env.int(200_000, { min: 1 }),
  BENCH_COMPRESS: env.bool(false),
  BENCH_SHAPE: env.oneOf(['steady', 'bursty'], 'steady'),
} satisfies Record<string, z.ZodType>);

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', cli], {
  env: {
    ...process.env,
    LOG_LEVEL: 'info',
    SIM_PORT: '0',
    SIM_SHARDS: '1',
    SIM_GUILDS: '100',
    SIM_RATE: String(config.BENCH_RATE),
    SIM_TOTAL: String(config.BENCH_TOTAL),
    SIM_SHAPE: config.BENCH_SHAPE,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const apiBase = await new Promise<string>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = JSON.parse(line) as { apiBase?: string };
    if (entry.apiBase) resolve(entry.apiBase);
  });
});

const sessions = new Map<number, SessionInfo>();
const manager = new WebSocketManager({
  token: 'sim-token',
  intents: 0,
  rest: new REST({ api: apiBase }).setToken('sim-token'),
  shardCount: 1,
  compression: config.BENCH_COMPRESS ? CompressionMethod.ZlibNative : null,
  buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }),
  retrieveSessionInfo: (id) => sessions.get(id) ?? null,
  updateSessionInfo: (id, info) => void (info ? sessions.set(id, info) : sessions.delete(id)),
});

const TRAFFIC = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'TYPING_START', 'MESSAGE_REACTION_ADD', 'PRESENCE_UPDATE']);
/** Gives up when nothing arrived for this long, reporting what did arrive. */
const STALL_MS = 15_000;
let received = 0;
let first = 0;
let last = 0;
let stalled = false;
let finish!: () => void;
const finished = new Promise<void>((resolve) => (finish = resolve));
manager.on(WebSocketShardEvents.Dispatch, (payload) => {
  if (!TRAFFIC.has(payload.t)) return;
  const now = performance.now();
  if (received === 0) first = now;
  last = now;
  if (++received === config.BENCH_TOTAL) finish();
});
const started = performance.now();
const watchdog = setInterval(() => {
  if (performance.now() - Math.max(last, started) < STALL_MS) return;
  stalled = true;
  finish();
}, 1000);
try {
  await manager.connect();
  await finished;
} finally {
  clearInterval(watchdog);
  await manager.destroy();
  child.kill('SIGTERM');
}

const seconds = (last - first) / 1000;
console.log(
  JSON.stringify({
    offeredRate: config.BENCH_RATE,
    shape: config.BENCH_SHAPE,
    compress: config.BENCH_COMPRESS,
    dispatches: received,
    seconds: Number(seconds.toFixed(3)),
    dispatchesPerSecond: Math.round(received / seconds),
    ...(stalled ? { stalled: `nothing arrived for ${STALL_MS} ms` } : {}),
  }),
);
process.exit(stalled ? 1 : 0);
