import { randomBytes } from 'node:crypto';
import { env, loadEnv } from '../../core/config.ts';
import { host, type RunningRole } from '../../core/process/host.ts';
import { createLogger } from '../../core/logger.ts';
import { infra, runningServers } from '../../infra/local/cli.ts';
import { startGatewaySimulator, type GatewaySimulator } from '../../infra/discord-sim/index.ts';
import { loadFanoutConfig, startFanout } from '../../fanout/index.ts';
import { createTokenSigner, loadEdgeConfig, startEdgeRole, tokenSecret } from '../../gateway-proxy/index.ts';
import { fetchBotUser, loadIngestConfig, startIngestRole } from '../../ingest/index.ts';
import { loadApiConfig } from './api-config.ts';
import { startApi } from './api.ts';

export const allEnv = {
  GUILDCAST_HOST: env.string('127.0.0.1'),
  GUILDCAST_PORT: env.int(8080, { min: 0, max: 65_535 }),
  /** Bring up the local Kafka and Cassandra first (infra/local); off when pointing at other servers. */
  GUILDCAST_LOCAL_INFRA: env.bool(true),
  /** The simulated Discord, used when DISCORD_TOKEN is unset. */
  SIM_SHARDS: env.int(2, { min: 1, max: 1024 }),
  SIM_GUILDS: env.int(6, { min: 1, max: 100_000 }),
  SIM_CHANNELS_PER_GUILD: env.int(3, { min: 1, max: 500 }),
  SIM_RATE: env.int(5, { min: 0, max: 1_000_000 }),
  DISCORD_TOKEN: env.optionalString(),
  INGEST_HTTP_TOKEN: env.optionalString(),
};

/**
 * `guildcast all` (`npm start`): every role in one process on one port, so one base URL serves
 * the gateway handshake, the websocket, REST history, HTTP ingest and the console. Without
 * DISCORD_TOKEN the Discord side is the gateway simulator; with it, the real Discord.
 */
export async function runAll(source: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = loadEnv(allEnv, source);
  const log = createLogger('guildcast');
  // Ctrl-C stops what this run started: the local servers too, unless they were already up.
  const alreadyUp = settings.GUILDCAST_LOCAL_INFRA ? await runningServers() : [];
  if (settings.GUILDCAST_LOCAL_INFRA && (await infra('up')) !== 0) throw new Error('the local Kafka and Cassandra did not start (npm run infra -- logs)');
  const startedInfra = settings.GUILDCAST_LOCAL_INFRA && alreadyUp.length < 2;

  let simulator: GatewaySimulator | undefined;
  let discord = { DISCORD_TOKEN: settings.DISCORD_TOKEN, DISCORD_API_BASE: source.DISCORD_API_BASE };
  if (!settings.DISCORD_TOKEN) {
    simulator = await startGatewaySimulator({ shardCount: settings.SIM_SHARDS, guilds: settings.SIM_GUILDS, channelsPerGuild: settings.SIM_CHANNELS_PER_GUILD });
    if (settings.SIM_RATE > 0) simulator.startTraffic({ ratePerSecond: settings.SIM_RATE, contentBytes: { min: 8, max: 160 } });
    discord = { DISCORD_TOKEN: simulator.token, DISCORD_API_BASE: simulator.apiBase };
    log.info({ apiBase: simulator.apiBase, shards: settings.SIM_SHARDS, guilds: settings.SIM_GUILDS, rate: settings.SIM_RATE }, 'DISCORD_TOKEN is unset: the gateway simulator plays Discord');
  }

  const edgeConfig = loadEdgeConfig(source);
  const signer = createTokenSigner(tokenSecret(edgeConfig, (message) => log.warn(message)));
  // Against the simulator, a bot user like any other: a fresh snowflake id (READY's user.id, GET
  // /users/@me) and a name. Against Discord, the real bot: Discord authors what it sends as that user.
  const bot = settings.DISCORD_TOKEN ? await fetchBotUser(discord.DISCORD_API_BASE ?? 'https://discord.com/api', settings.DISCORD_TOKEN) : undefined;
  const devToken = await signer.mint({ ...(bot ? { subject: bot.id, username: bot.username } : { username: 'guildcast-dev' }), guilds: '*', ttlSeconds: 7 * 86_400 });
  const ingestToken = settings.INGEST_HTTP_TOKEN ?? randomBytes(18).toString('base64url');
  const roleEnv = { ...source, ...discord, INGEST_HTTP_TOKEN: ingestToken, CONSOLE_TOKEN: source.CONSOLE_TOKEN ?? devToken, CONSOLE_INGEST_TOKEN: source.CONSOLE_INGEST_TOKEN ?? ingestToken };
  // One POST /channels/:id/messages on the one port: the api role's, which takes the bot's token
  // and ingest's shared token alike, so ingest does not mount its own.
  const ingestEnv = { ...roleEnv, INGEST_HTTP_TOKEN: undefined };
  // The api acts on the real Discord only with the user's own DISCORD_TOKEN; the simulator's
  // token only feeds ingest's gateway shards (without it guildcast is the source of truth).
  const apiEnv = { ...roleEnv, DISCORD_TOKEN: settings.DISCORD_TOKEN };

  const { baseUrl } = await host({
    name: 'guildcast',
    ops: { host: settings.GUILDCAST_HOST, port: settings.GUILDCAST_PORT },
    shutdownTimeoutMs: 45_000,
    start: async (context) => {
      const roles: RunningRole[] = [];
      if (startedInfra) roles.push({ name: 'local infra', checks: [], close: async () => void (await infra('down')) });
      if (simulator) roles.push({ name: 'simulator', checks: [], close: () => simulator!.close() });
      roles.push(await startFanout(loadFanoutConfig(roleEnv), context));
      roles.push(await startIngestRole(loadIngestConfig(ingestEnv), context));
      roles.push(await startEdgeRole(edgeConfig, context));
      roles.push(await startApi(loadApiConfig(apiEnv), context));
      return roles;
    },
  });

  process.stdout.write(
    [
      '',
      'guildcast is running',
      `  console        ${baseUrl}/`,
      `  gateway        ${baseUrl.replace(/^http/, 'ws')}   (GET ${baseUrl}/api/v10/gateway/bot)`,
      `  REST base      ${baseUrl}/api   (discord.js: rest.api = this)`,
      `  dev token      ${devToken}   (a bot token: log in, read and send with it)`,
      `  ingest token   ${ingestToken}   (a relay: POST ${baseUrl}/api/v10/channels/:id/messages in any guild)`,
      `  health         ${baseUrl}/readyz   metrics ${baseUrl}/metrics`,
      `  Ctrl-C stops everything it started${startedInfra ? ', the local Kafka and Cassandra included' : ''}.`,
      '',
    ].join('\n') + '\n',
  );
}
