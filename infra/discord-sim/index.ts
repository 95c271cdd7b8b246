import type { Logger } from '../../core/logger.ts';
import type { ForcedRateLimit, RestStats } from './rest-limits.ts';

export type { ForcedRateLimit, RestBucketStats, RestStats } from './rest-limits.ts';

/**
 * A local Discord gateway (v10) for tests and benchmarks: the unmodified `@discordjs/ws` client
 * connects to it through `@discordjs/rest` pointed at `apiBase`. This file is the contract agreed
 * with the ingest role; everything else in this folder is internal.
 */

export type TrafficEventType =
  | 'MESSAGE_CREATE'
  | 'MESSAGE_UPDATE'
  | 'MESSAGE_DELETE'
  | 'TYPING_START'
  | 'MESSAGE_REACTION_ADD'
  | 'PRESENCE_UPDATE';

export type Fault = 'drop-connection' | 'ignore-heartbeats' | 'invalid-session' | 'reconnect' | 'malformed-frame';

export interface SimulatorOptions {
  host?: string; // default '127.0.0.1'
  port?: number; // default 0 (ephemeral)
  token?: string; // the bot token it accepts; IDENTIFY with another closes 4004. Default 'sim-token'.
  shardCount: number; // what /gateway/bot recommends; IDENTIFY must use shard [i, shardCount] (else 4010)
  guilds: number | string[]; // how many guilds to make (real snowflake ids), or explicit ids
  channelsPerGuild?: number; // default 4
  resumeWindowMs?: number; // how long a disconnected session stays resumable; default 60_000
  heartbeatIntervalMs?: number; // sent in HELLO; default 41_250
  seed?: number; // deterministic traffic
  compress?: boolean; // honour ?compress=zlib-stream|zstd-stream; default true
  /** Dispatches each session keeps for RESUME; a client resuming from an older seq gets INVALID_SESSION. Default 50_000. */
  replayBufferSize?: number;
  /** Newest ledger entries kept in `sent` (raised to fit a traffic run's `total`). Default 200_000. */
  ledgerLimit?: number;
  /** REST rate limits of the message routes (rest-limits.ts). Defaults: 5 per 5000 ms per bucket, 50 per second globally. */
  rest?: { bucketLimit?: number; bucketWindowMs?: number; globalPerSecond?: number };
  logger?: Logger;
}

export interface TrafficOptions {
  ratePerSecond: number; // dispatches per second across all shards
  shape?: 'steady' | 'bursty';
  contentBytes?: { min: number; max: number };
  /** Relative weights; when given it replaces the default mix (types left out are not generated). */
  mix?: Partial<Record<TrafficEventType, number>>;
  total?: number; // stop after this many dispatches
}

export interface SentDispatch {
  shard: number;
  sessionId: string;
  seq: number;
  t: string;
  guildId?: string;
  channelId?: string;
  d: unknown;
  sentAt: number;
  /** Set on dispatches made by the 'malformed-frame' fault: ingest must dead-letter them. */
  malformed?: true;
}

export interface SimulatorStats {
  identifies: number;
  resumes: number;
  invalidSessions: number;
  replayed: number;
  connections: number;
  /** Open connections that use transport compression (zlib-stream or zstd-stream). */
  compressedConnections: number;
}

export interface GatewaySimulator {
  readonly apiBase: string; // 'http://127.0.0.1:PORT/api' — give @discordjs/rest `new REST({ api: apiBase })`
  readonly gatewayUrl: string; // 'ws://127.0.0.1:PORT'
  readonly token: string;
  readonly guildIds: string[];
  readonly channels: ReadonlyMap<string, string[]>; // guild id -> channel ids
  startTraffic(options: TrafficOptions): void; // dispatched to the shard that owns each guild: shardFor(guild, shardCount)
  stopTraffic(): Promise<void>;
  trafficDone(): Promise<void>; // resolves when `total` was reached (or the traffic was stopped)
  /** Queue one dispatch to the shard that owns `guildId` (or shard 0 when none); resolves to what was recorded. */
  dispatch(t: string, d: Record<string, unknown>, guildId?: string): SentDispatch;
  /** Every dispatch generated, in generation order (including ones queued while a shard was disconnected; replays are not duplicated here). */
  readonly sent: readonly SentDispatch[];
  /** Faults, on one shard's current connection (or all when shard is omitted). */
  inject(fault: Fault, shard?: number): void;
  /** Live stats: identifies, resumes, connections per shard, replayed dispatches. */
  stats(): SimulatorStats;
  /** What the message routes saw: requests, 429s for exhausted limits (violations), forced 429s, per-bucket windows. */
  restStats(): RestStats;
  /** For the next `durationMs`, every message-route request gets a 429 with `retryAfterMs` (global or per route). */
  forceRateLimit(mode: ForcedRateLimit): void;
  close(): Promise<void>;
}

export { startGatewaySimulator } from './simulator.ts';
export { runSimulatorCli, simulatorEnv } from './cli.ts';
export { DEFAULT_MIX } from './traffic-generator.ts';
