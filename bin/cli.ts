import { ConfigError } from '../core/config.ts';
import { host } from '../core/process/host.ts';
import { infra } from '../infra/local/cli.ts';
import { runSimulatorCli } from '../infra/discord-sim/cli.ts';
import { dlqCli, rewindCli } from '../fanout/index.ts';
import { mintTokenCli } from '../gateway-proxy/index.ts';
import { loadApiConfig } from './roles/api-config.ts';
import { startApi } from './roles/api.ts';
import { runAll } from './roles/all.ts';

const usage = `usage: guildcast <command> [args]

roles (configured by environment variables only; see the README's table):
  all        everything in one process: local infra, ingest (simulator when DISCORD_TOKEN is unset),
             fanout, edge, api and console on one port (GUILDCAST_PORT, 8080)
  ingest     gateway shards and HTTP ingest into Kafka
  fanout     persist consumer group: Kafka -> store -> deliveries
  edge       the Discord-compatible websocket gateway
  api        REST history and the live console

tools:
  infra <up|down|status|logs|reset>   local Kafka and Cassandra
  token --guilds ID,ID|* [--ttl 24h] [--name BOT]  mint a guildcast access token (EDGE_TOKEN_SECRET)
  sim                                 the Discord gateway simulator (SIM_* variables)
  bench <scenario> [options]          benchmarks (bench --help)
  dlq <list|export|replay>            the dead-letter topic
  rewind --to <earliest|time|offset>  move the fanout group's offsets to replay`;

/** Runs one command; a role resolves to 'running' (it stops on SIGTERM), a tool to its exit code. */
export async function main(argv: string[]): Promise<number | 'running'> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'all':
        await runAll();
        return 'running';
      // One entry per role: the CLI runs the same process entry operators run with `npx tsx <role>/main.ts`.
      case 'ingest':
        await import('../ingest/main.ts');
        return 'running';
      case 'fanout':
        await import('../fanout/main.ts');
        return 'running';
      case 'edge':
        await import('../gateway-proxy/main.ts');
        return 'running';
      case 'api': {
        const config = loadApiConfig();
        await host({ name: 'api', ops: { host: config.API_HOST, port: config.API_PORT }, shutdownTimeoutMs: config.API_SHUTDOWN_TIMEOUT_MS, start: async (c) => [await startApi(config, c)] });
        return 'running';
      }
      case 'infra':
        return await infra(rest[0], rest[1]);
      case 'token':
        process.stdout.write(`${await mintTokenCli(rest)}\n`);
        return 0;
      case 'sim':
        await runSimulatorCli();
        return 'running';
      case 'bench': {
        // Loaded only for this command: the benchmarks are not part of the image.
        const { benchCli } = await import('../bench/cli.ts');
        return await benchCli(rest);
      }
      case 'dlq':
        return await dlqCli(rest);
      case 'rewind':
        return await rewindCli(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${usage}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown command "${command}"\n\n${usage}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    process.stderr.write(`guildcast ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
