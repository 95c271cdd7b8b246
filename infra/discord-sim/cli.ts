import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { env, loadEnv } from '../../core/config.ts';
import { createLogger, type Logger } from '../../core/logger.ts';
import type { GatewaySimulator, SimulatorOptions } from './index.ts';
import { startGatewaySimulator } from './simulator.ts';

/** The simulator's settings when run as a process (`npx tsx infra/discord-sim/cli.ts`, `guildcast sim`). */
export const simulatorEnv = {
  SIM_HOST: env.string('127.0.0.1'),
  SIM_PORT: env.int(7878, { min: 0, max: 65_535 }),
  SIM_TOKEN: env.string('sim-token'),
  SIM_SHARDS: env.int(1, { min: 1, max: 65_535 }),
  SIM_GUILDS: env.int(100, { min: 0, max: 1_000_000 }),
  SIM_CHANNELS_PER_GUILD: env.int(4, { min: 1, max: 500 }),
  /** Dispatches per second across all shards; 0 serves connections without traffic. */
  SIM_RATE: env.int(1000, { min: 0, max: 10_000_000 }),
  SIM_SHAPE: env.oneOf(['steady', 'bursty'], 'steady'),
  SIM_TOTAL: env.int(0, { min: 0 }),
  SIM_CONTENT_MIN: env.int(16, { min: 0, max: 4000 }),
  SIM_CONTENT_MAX: env.int(512, { min: 0, max: 4000 }),
  SIM_SEED: env.int(1, { min: 0, max: 2 ** 32 - 1 }),
  SIM_COMPRESS: env.bool(true),
  SIM_HEARTBEAT_MS: env.int(41_250, { min: 1, max: 2 ** 31 - 1 }),
  SIM_RESUME_WINDOW_MS: env.int(60_000, { min: 1, max: 2 ** 31 - 1 }),
  /** The message routes' rate limits (Discord's own by default: 5 per 5 s per channel and route, 50 per second globally). */
  SIM_REST_BUCKET_LIMIT: env.int(5, { min: 1, max: 1_000_000 }),
  SIM_REST_BUCKET_WINDOW_MS: env.int(5_000, { min: 1, max: 2 ** 31 - 1 }),
  SIM_REST_GLOBAL_PER_SECOND: env.int(50, { min: 1, max: 1_000_000 }),
} satisfies Record<string, z.ZodType>;

export type SimulatorConfig = ReturnType<typeof loadSimulatorConfig>;
export const loadSimulatorConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const config = loadEnv(simulatorEnv, source);
  if (config.SIM_CONTENT_MIN > config.SIM_CONTENT_MAX) {
    throw new RangeError(`SIM_CONTENT_MIN (${config.SIM_CONTENT_MIN}) must not exceed SIM_CONTENT_MAX (${config.SIM_CONTENT_MAX})`);
  }
  return config;
};

/**
 * Starts a simulator from environment variables, starts its traffic (unless SIM_RATE=0), and closes
 * it on SIGINT/SIGTERM. Resolves once it listens.
 */
/** The simulator's world and server settings from its environment (traffic settings are the caller's). */
export function simulatorOptions(config: SimulatorConfig, logger: Logger): SimulatorOptions {
  return {
    host: config.SIM_HOST,
    port: config.SIM_PORT,
    token: config.SIM_TOKEN,
    shardCount: config.SIM_SHARDS,
    guilds: config.SIM_GUILDS,
    channelsPerGuild: config.SIM_CHANNELS_PER_GUILD,
    seed: config.SIM_SEED,
    compress: config.SIM_COMPRESS,
    heartbeatIntervalMs: config.SIM_HEARTBEAT_MS,
    resumeWindowMs: config.SIM_RESUME_WINDOW_MS,
    rest: { bucketLimit: config.SIM_REST_BUCKET_LIMIT, bucketWindowMs: config.SIM_REST_BUCKET_WINDOW_MS, globalPerSecond: config.SIM_REST_GLOBAL_PER_SECOND },
    logger,
  };
}

export async function runSimulatorCli(
  source: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger('gateway-sim'),
): Promise<GatewaySimulator> {
  const config = loadSimulatorConfig(source);
  const simulator = await startGatewaySimulator(simulatorOptions(config, logger));
  if (config.SIM_RATE > 0) {
    simulator.startTraffic({
      ratePerSecond: config.SIM_RATE,
      shape: config.SIM_SHAPE,
      contentBytes: { min: config.SIM_CONTENT_MIN, max: config.SIM_CONTENT_MAX },
      ...(config.SIM_TOTAL > 0 && { total: config.SIM_TOTAL }),
    });
  }
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal, stats: simulator.stats() }, 'shutting down');
    void simulator.close();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  logger.info({ apiBase: simulator.apiBase, token: simulator.token }, `REST api base: ${simulator.apiBase}`);
  return simulator;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSimulatorCli().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
