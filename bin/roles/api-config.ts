import { env, loadEnv } from '../../core/config.ts';
import { kafkaEnv } from '../../core/kafka/config.ts';
import { storeEnv } from '../../store/index.ts';
import { edgeEnv } from '../../gateway-proxy/index.ts';
import { ingestEnv } from '../../ingest/config.ts';
import { peersNameSelf, restProxyEnv } from '../../ingest/rest-proxy/config.ts';

export const apiEnv = {
  ...kafkaEnv,
  ...storeEnv,
  API_HOST: env.string('127.0.0.1'),
  API_PORT: env.port(8082),
  /** History needs a guildcast token (the edge's) and serves only its guilds; off only for trusted networks. */
  API_REQUIRE_TOKEN: env.bool(true),
  EDGE_TOKEN_SECRET: edgeEnv.EDGE_TOKEN_SECRET,
  NODE_ENV: edgeEnv.NODE_ENV,
  /** Serve the live console at `/`. */
  CONSOLE_ENABLED: env.bool(true),
  /** The gateway the console's browser connects to; defaults to this server (the `all` role). */
  CONSOLE_GATEWAY_URL: env.optionalString(),
  /** A guildcast access token handed to the console's page. Development only: anyone who loads the page gets it. */
  CONSOLE_TOKEN: env.optionalString(),
  /** An HTTP ingest token handed to the console so it can send messages. Development only. */
  CONSOLE_INGEST_TOKEN: env.optionalString(),
  FANOUT_GROUP_ID: env.string('guildcast-fanout'),
  /** Longest a cached guild, channel → guild entry or bot settings entry is served when its `state-changes` record is missed. */
  API_STATE_CACHE_TTL_MS: env.duration(60_000, { min: 100, max: 86_400_000 }),
  /** Entries each of those caches holds at most (least recently used dropped first). */
  API_STATE_CACHE_MAX: env.int(10_000, { min: 1, max: 10_000_000 }),
  API_SHUTDOWN_TIMEOUT_MS: env.duration(15_000, { min: 1_000, max: 600_000 }),
  /** Requests per window each token may make on one route bucket under /api (reported in X-RateLimit-*). */
  API_RATE_LIMIT: env.int(50, { min: 1, max: 1_000_000 }),
  API_RATE_WINDOW_MS: env.duration(1_000, { min: 100, max: 3_600_000 }),
  /** The worker bits of the snowflakes this api mints for sent messages: distinct per api process (and from INGEST_HTTP_WORKER_ID). */
  API_SNOWFLAKE_WORKER_ID: env.int(1, { min: 0, max: 31 }),
  /** HTTP ingest's shared tokens, also accepted by `POST /channels/:id/messages` here (a relay acting in every guild, as the author below). */
  INGEST_HTTP_TOKEN: ingestEnv.INGEST_HTTP_TOKEN,
  INGEST_HTTP_AUTHOR_ID: ingestEnv.INGEST_HTTP_AUTHOR_ID,
  INGEST_HTTP_AUTHOR_NAME: ingestEnv.INGEST_HTTP_AUTHOR_NAME,
  /** DISCORD_TOKEN set: the message routes forward to Discord through the REST proxy; unset: they publish events (guildcast is the source of truth). */
  ...restProxyEnv,
};

export type ApiConfig = ReturnType<typeof loadApiConfig>;
export const loadApiConfig = (source: NodeJS.ProcessEnv = process.env) => loadEnv(apiEnv, source, [peersNameSelf]);
