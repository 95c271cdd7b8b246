import { silentLogger, type Logger } from '../../core/logger.ts';
import type { SimulatorOptions } from './index.ts';

export interface ResolvedOptions {
  host: string;
  port: number;
  token: string;
  shardCount: number;
  guilds: number | string[];
  channelsPerGuild: number;
  resumeWindowMs: number;
  heartbeatIntervalMs: number;
  seed: number;
  compress: boolean;
  replayBufferSize: number;
  ledgerLimit: number;
  rest: { bucketLimit: number; bucketWindowMs: number; globalPerSecond: number };
  logger: Logger;
}

/** Applies defaults and rejects values the simulator cannot honour, naming the option. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    token: options.token ?? 'sim-token',
    shardCount: options.shardCount,
    guilds: options.guilds,
    channelsPerGuild: options.channelsPerGuild ?? 4,
    resumeWindowMs: options.resumeWindowMs ?? 60_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
    compress: options.compress ?? true,
    replayBufferSize: options.replayBufferSize ?? 50_000,
    ledgerLimit: options.ledgerLimit ?? 200_000,
    rest: { bucketLimit: options.rest?.bucketLimit ?? 5, bucketWindowMs: options.rest?.bucketWindowMs ?? 5_000, globalPerSecond: options.rest?.globalPerSecond ?? 50 },
    logger: options.logger ?? silentLogger,
  };
  integer('port', resolved.port, 0, 65_535);
  integer('shardCount', resolved.shardCount, 1, 65_535);
  if (typeof resolved.guilds === 'number') integer('guilds', resolved.guilds, 0, 1_000_000);
  else if (!Array.isArray(resolved.guilds)) throw new TypeError('guilds must be a count or a list of guild ids');
  integer('channelsPerGuild', resolved.channelsPerGuild, 1, 500);
  integer('resumeWindowMs', resolved.resumeWindowMs, 1, 2 ** 31 - 1);
  integer('heartbeatIntervalMs', resolved.heartbeatIntervalMs, 1, 2 ** 31 - 1);
  integer('seed', resolved.seed, 0, 2 ** 32 - 1);
  integer('replayBufferSize', resolved.replayBufferSize, 1, 10_000_000);
  integer('ledgerLimit', resolved.ledgerLimit, 1, 100_000_000);
  integer('rest.bucketLimit', resolved.rest.bucketLimit, 1, 1_000_000);
  integer('rest.bucketWindowMs', resolved.rest.bucketWindowMs, 1, 2 ** 31 - 1);
  integer('rest.globalPerSecond', resolved.rest.globalPerSecond, 1, 1_000_000);
  if (typeof resolved.token !== 'string' || resolved.token.length === 0) throw new TypeError('token must be a non-empty string');
  return resolved;
}

function integer(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}
