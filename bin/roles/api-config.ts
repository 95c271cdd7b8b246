import { env, loadEnv } from '../../core/config.ts';
import { kafkaEnv } from '../../core/kafka/config.ts';
import { storeEnv } from '../../store/index.ts';
import { edgeEnv } from '../../gateway-proxy/index.ts';

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
  API_SHUTDOWN_TIMEOUT_MS: env.duration(15_000, { min: 1_000, max: 600_000 }),
};

export type ApiConfig = ReturnType<typeof loadApiConfig>;
export const loadApiConfig = (source: NodeJS.ProcessEnv = process.env) => loadEnv(apiEnv, source);
