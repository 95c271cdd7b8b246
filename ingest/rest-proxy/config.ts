import { z } from 'zod';
import { env, loadEnv, type ConfigProblem } from '../../core/config.ts';

/**
 * The REST proxy's settings, spread into the env schema of whichever role mounts the proxy (the
 * api role, when `DISCORD_TOKEN` is set). ingest/README.md ("REST proxy") has the table.
 */
const peerList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean))
  .pipe(z.array(z.url({ protocol: /^https?$/ })).min(1))
  .optional()
  .describe('a comma-separated list of http(s) base URLs of every proxying process (this one included), or unset for a single process');

export const restProxyEnv = {
  /** The bot's real token; its presence turns guildcast's acting routes into a proxy to Discord. */
  DISCORD_TOKEN: env.optionalString(),
  DISCORD_API_BASE: env.url('https://discord.com/api'),
  /** Base URLs of every process that proxies for this bot, this one included (e.g. the pods of a StatefulSet). */
  REST_PROXY_PEERS: peerList,
  /** This process's own entry of REST_PROXY_PEERS. */
  REST_PROXY_SELF_URL: z
    .url({ protocol: /^https?$/ })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional()
    .describe('an http(s) base URL that appears in REST_PROXY_PEERS'),
  /** Discord's global budget for the bot; each of N peers spends at most floor(this / N) per second. */
  REST_PROXY_GLOBAL_PER_SECOND: env.int(50, { min: 1, max: 100_000 }),
  /** Longest a request waits for its bucket or the global budget; beyond it the caller gets a 429 with Retry-After. */
  REST_PROXY_MAX_WAIT_MS: env.duration(10_000, { min: 0, max: 600_000 }),
  /** Requests waiting per bucket before new ones get a 429 at once. */
  REST_PROXY_QUEUE_MAX: env.int(1_000, { min: 1, max: 1_000_000 }),
  /** Longest one request to Discord may take (answered 504 after it: nothing is retried, a POST may have landed). */
  REST_PROXY_UPSTREAM_TIMEOUT_MS: env.duration(15_000, { min: 100, max: 600_000 }),
  /** Longest a hop to a bucket's owner may take beyond the longest wait and the upstream timeout. */
  REST_PROXY_PEER_TIMEOUT_MS: env.duration(2_000, { min: 100, max: 60_000 }),
};

export type RestProxyConfig = ReturnType<typeof loadRestProxyConfig>;

export const loadRestProxyConfig = (source: NodeJS.ProcessEnv = process.env) => loadEnv(restProxyEnv, source, [peersNameSelf]);

/** A peer list needs this node's own URL in it, or no request would ever be handled here. */
export function peersNameSelf(config: { REST_PROXY_PEERS?: string[] | undefined; REST_PROXY_SELF_URL?: string | undefined }): ConfigProblem | undefined {
  const peers = config.REST_PROXY_PEERS;
  if (!peers) return undefined;
  if (new Set(peers).size !== peers.length) return { variable: 'REST_PROXY_PEERS', expected: 'distinct URLs', got: peers.join(',') };
  const self = config.REST_PROXY_SELF_URL;
  if (self === undefined) return { variable: 'REST_PROXY_SELF_URL', expected: 'this process\'s URL (one of REST_PROXY_PEERS)', got: undefined };
  if (!peers.includes(self)) return { variable: 'REST_PROXY_SELF_URL', expected: `one of REST_PROXY_PEERS (${peers.join(', ')})`, got: self };
  return undefined;
}
