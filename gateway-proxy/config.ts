import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import { env, loadEnv } from '../core/config.ts';
import { kafkaEnv } from '../core/kafka/config.ts';
import { storeEnv } from '../store/index.ts';
import { DEFAULT_FEED_LOOKBACK } from './delivery-source.ts';

/** Used when EDGE_TOKEN_SECRET is unset in development; anyone can mint tokens with it. */
export const DEV_TOKEN_SECRET = 'guildcast-dev-secret-do-not-use-in-production';

export const edgeEnv = {
  NODE_ENV: env.string('development'),
  EDGE_PORT: env.port(8080),
  EDGE_HOST: env.string('0.0.0.0'),
  /** This node's own websocket URL, only ever handed out as READY's resume_gateway_url; defaults to ws://<bound address>. */
  EDGE_PUBLIC_URL: wsUrl(),
  /** The fleet's websocket URL (the load balancer) that /gateway and /gateway/bot hand out; defaults to this node's URL (one node). */
  EDGE_GATEWAY_URL: wsUrl(),
  /** Names this node's consumer group (`guildcast-edge-<id>`); random per process unless set. */
  EDGE_NODE_ID: z.string().min(1).default(() => `edge-${randomBytes(4).toString('hex')}`).describe('a non-empty string'),
  EDGE_TOKEN_SECRET: env.optionalString(),
  EDGE_RESUME_WINDOW_MS: env.duration(60_000, { max: 86_400_000 }),
  EDGE_RESUME_BUFFER_EVENTS: env.int(1_000, { min: 1, max: 1_000_000 }),
  EDGE_HEARTBEAT_INTERVAL_MS: env.duration(41_250, { min: 100 }),
  /** Socket bytes waiting for a slow reader before it is closed (4000) and left to RESUME. */
  EDGE_MAX_BUFFERED_BYTES: env.int(1_048_576, { min: 1024, max: 1_073_741_824 }),
  EDGE_MAX_PAYLOAD_BYTES: env.int(4096, { min: 256, max: 1_048_576 }),
  /** Frames beyond this are refused by the websocket layer (1009) before being read into memory. */
  EDGE_MAX_FRAME_BYTES: env.int(65_536, { min: 1024, max: 16_777_216 }),
  EDGE_COMMANDS_PER_MINUTE: env.int(120, { min: 1, max: 100_000 }),
  EDGE_IDENTIFIES_PER_5S: env.int(16, { min: 1, max: 1_000_000 }),
  EDGE_CONNECTIONS_PER_IP: env.int(1_000, { min: 1, max: 1_000_000 }),
  /** TCP connections of every kind the server keeps (websockets, handshakes, health, REST); keep it below `ulimit -n` minus ~200. */
  EDGE_MAX_CONNECTIONS: env.int(16_000, { min: 2, max: 1_000_000 }),
  /** Of EDGE_MAX_CONNECTIONS, how many never become websockets: room for /healthz, /readyz, /metrics and REST under a flood. */
  EDGE_RESERVED_CONNECTIONS: env.int(64, { min: 1, max: 100_000 }),
  /** From TCP accept to complete request headers (a connection that sends nothing, or half a request, is dropped). */
  EDGE_HANDSHAKE_TIMEOUT_MS: env.duration(10_000, { min: 100, max: 300_000 }),
  /** From HELLO to a successful IDENTIFY or RESUME, else close 4003; long enough for a client's identify throttle. */
  EDGE_IDENTIFY_TIMEOUT_MS: env.duration(60_000, { min: 100, max: 600_000 }),
  EDGE_MAX_SHARDS: env.int(4_096, { min: 1, max: 100_000 }),
  /** GUILD_CREATE payloads remembered for READY, newest kept. */
  EDGE_GUILD_CACHE_SIZE: env.int(100_000, { min: 0, max: 10_000_000 }),
  EDGE_DRAIN_GRACE_MS: env.duration(5_000, { max: 600_000 }),
  /** With a session store: how often connected sessions whose seq moved are checkpointed (a crash repeats at most about this much). */
  EDGE_SESSION_CHECKPOINT_MS: env.duration(1_000, { min: 10, max: 600_000 }),
  /**
   * Records before a partition's end read for their source offsets only when the node starts
   * reading it, so fanout's redeliveries straddling that end reach nobody twice. Keep it above
   * what fanout repeats after a crash: a chunk per partition, plus FANOUT_COMMIT_INTERVAL_MS of it.
   */
  EDGE_FEED_LOOKBACK: env.int(DEFAULT_FEED_LOOKBACK, { min: 0, max: 1_000_000 }),
  /**
   * The shortest time between two flush rounds (a throttle, core/discord/gateway/writer.ts): frames
   * due after a quiet window still go at the end of their event-loop turn, frames due sooner wait
   * for the window to close and share one write per socket. Fewer socket writes under load (kernel
   * time here, a wake-up and a read at the client) for at most this many ms of added latency.
   * 0 (the default): every round at the end of its turn; a Kafka fetch's events already share one
   * write per socket, and at the rates this machine holds p99 at, a window bought no CPU
   * (bench/README.md, #14's ninth session).
   */
  EDGE_FLUSH_WINDOW_MS: env.duration(0, { min: 0, max: 50 }),
  /**
   * `cassandra`: guild state for READY/GUILD_CREATE and sessions any node can resume live in the
   * store (CASSANDRA_*). `none`: a standalone node (benchmarks, a single process): sessions live in
   * this process and it knows only the guilds it sees on the stream.
   */
  EDGE_STATE_STORE: z.enum(['cassandra', 'none']).default('cassandra').describe('cassandra or none'),
};

/** An absolute ws:// or wss:// URL: a client given an http:// one cannot open a websocket with it. */
function wsUrl() {
  return z.url({ protocol: /^wss?$/, hostname: /^.+$/ }).optional().describe('an absolute ws:// or wss:// URL, or unset');
}

export type EdgeConfig = ReturnType<typeof loadEdgeConfig>;

export function loadEdgeConfig(source: NodeJS.ProcessEnv = process.env) {
  return { ...loadEnv(kafkaEnv, source), ...loadEnv(storeEnv, source), ...loadEnv(edgeEnv, source, [reserveBelowCap]) };
}

/** The reserve is carved out of the cap: at least one connection must be left for websockets. */
function reserveBelowCap(config: { EDGE_RESERVED_CONNECTIONS: number; EDGE_MAX_CONNECTIONS: number }) {
  if (config.EDGE_RESERVED_CONNECTIONS < config.EDGE_MAX_CONNECTIONS) return undefined;
  return { variable: 'EDGE_RESERVED_CONNECTIONS', expected: `below EDGE_MAX_CONNECTIONS (${config.EDGE_MAX_CONNECTIONS})`, got: String(config.EDGE_RESERVED_CONNECTIONS) };
}

/** The token secret, refusing to run production on the development one. */
export function tokenSecret(config: Pick<EdgeConfig, 'EDGE_TOKEN_SECRET' | 'NODE_ENV'>, warn: (message: string) => void): string {
  if (config.EDGE_TOKEN_SECRET) return config.EDGE_TOKEN_SECRET;
  if (config.NODE_ENV === 'production') throw new Error('EDGE_TOKEN_SECRET must be set when NODE_ENV=production');
  warn('EDGE_TOKEN_SECRET is unset: using the public development secret; set it outside development');
  return DEV_TOKEN_SECRET;
}
