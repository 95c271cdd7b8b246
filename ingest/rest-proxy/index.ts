import type { Registry } from 'prom-client';
import { httpStatusError } from '../../core/discord/rest-errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { RestProxyConfig } from './config.ts';
import { GlobalBudget } from './global-budget.ts';
import { LocalLimiter, type Clock } from './local-limiter.ts';
import { createRestProxyMetrics } from './metrics.ts';
import { Owners } from './owners.ts';
import { askOwner, peerKey, peerRoutes } from './peer.ts';
import { rateLimited } from './rate-limited.ts';
import { isForwardablePath, ownerKeyOf, routeOf } from './routes.ts';
import type { ProxyRequest, ProxyResponse, RestProxy } from './types.ts';
import { createUpstream, jsonResponse } from './upstream.ts';

export type { ProxyMethod, ProxyRequest, ProxyResponse, RestProxy } from './types.ts';
export { loadRestProxyConfig, restProxyEnv, type RestProxyConfig } from './config.ts';
export { PEER_PATH } from './peer.ts';

/** The settings createRestProxy reads (a loaded RestProxyConfig, or the same keys from a role's config). */
export type RestProxyOptions = Pick<
  RestProxyConfig,
  | 'DISCORD_API_BASE'
  | 'REST_PROXY_PEERS'
  | 'REST_PROXY_SELF_URL'
  | 'REST_PROXY_GLOBAL_PER_SECOND'
  | 'REST_PROXY_MAX_WAIT_MS'
  | 'REST_PROXY_QUEUE_MAX'
  | 'REST_PROXY_UPSTREAM_TIMEOUT_MS'
  | 'REST_PROXY_PEER_TIMEOUT_MS'
> & { DISCORD_TOKEN: string };

export interface RestProxyDeps {
  logger?: Logger;
  registry?: Registry;
  /** For tests: the HTTP client used towards Discord and the peers. */
  fetch?: typeof fetch;
  clock?: Clock;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** What a node that cannot reach a bucket's owner tells the caller to wait (nirn-proxy's mocked 429 says 1 s too). */
const OWNER_UNREACHABLE_RETRY_MS = 1_000;
/** Discord's global window, plus a little for timer granularity (the slots already count from each answer). */
const GLOBAL_WINDOW_MS = 1_010;

/**
 * guildcast as a REST proxy to Discord for one bot (ingest/README.md, "REST proxy"): requests go
 * to Discord with the bot's token; each bucket is limited on exactly one node, its owner by
 * rendezvous hash of the route's major parameter over REST_PROXY_PEERS, and the other nodes hand
 * its requests over to that owner; each node spends floor(global / N) of the global budget.
 */
export function createRestProxy(config: RestProxyOptions, deps: RestProxyDeps = {}): RestProxy {
  if (!config.DISCORD_TOKEN) throw new TypeError('the REST proxy needs DISCORD_TOKEN');
  const logger = (deps.logger ?? silentLogger).child({ component: 'rest-proxy' });
  const self = config.REST_PROXY_SELF_URL ?? 'local';
  const peers = config.REST_PROXY_PEERS ?? [self];
  const owners = new Owners(peers, self);
  const share = Math.max(1, Math.floor(config.REST_PROXY_GLOBAL_PER_SECOND / peers.length));
  const key = peerKey(config.DISCORD_TOKEN);
  const doFetch = deps.fetch ?? fetch;
  const upstream = createUpstream({ apiBase: config.DISCORD_API_BASE, token: config.DISCORD_TOKEN, timeoutMs: config.REST_PROXY_UPSTREAM_TIMEOUT_MS, fetch: doFetch });
  let metrics: ReturnType<typeof createRestProxyMetrics> | undefined;
  const local = new LocalLimiter({
    upstream,
    global: new GlobalBudget(share, GLOBAL_WINDOW_MS),
    maxWaitMs: config.REST_PROXY_MAX_WAIT_MS,
    queueMax: config.REST_PROXY_QUEUE_MAX,
    ...(deps.clock && { clock: deps.clock }),
    onUpstream(response, route) {
      metrics?.upstream.inc({ status: String(response.status) });
      if (response.status !== 429) return;
      const scope = response.headers['x-ratelimit-scope'] ?? (response.headers['x-ratelimit-global'] ? 'global' : 'user');
      metrics?.upstream429.inc({ scope });
      logger.warn({ route: route.bucketRoute, major: route.major, scope, retryAfter: response.headers['retry-after'] }, 'Discord answered 429');
    },
    onLocal429: (reason) => metrics?.local429.inc({ reason }),
  });
  if (deps.registry) metrics = createRestProxyMetrics(deps.registry, () => local.depth);
  const peerTimeoutMs = config.REST_PROXY_MAX_WAIT_MS + config.REST_PROXY_UPSTREAM_TIMEOUT_MS + config.REST_PROXY_PEER_TIMEOUT_MS;
  logger.info({ self, peers, globalShare: share }, 'REST proxy ready');

  function invalid(request: ProxyRequest): ProxyResponse | undefined {
    if (!METHODS.has(request.method)) return jsonResponse(405, httpStatusError(405));
    if (typeof request.path !== 'string' || request.path.length > 2048 || !isForwardablePath(request.path)) return jsonResponse(404, httpStatusError(404));
    return undefined;
  }

  async function handleLocally(request: ProxyRequest): Promise<ProxyResponse> {
    return (invalid(request) ?? (await local.forward(request, routeOf(request.method, request.path))));
  }

  return {
    ownerOf: (request) => owners.ownerOf(ownerKeyOf(routeOf(request.method, request.path))),

    async forward(request) {
      const bad = invalid(request);
      if (bad) return bad;
      const route = routeOf(request.method, request.path);
      const owner = owners.ownerOf(ownerKeyOf(route));
      if (owners.isSelf(owner)) {
        metrics?.requests.inc({ handled_by: 'owner' });
        return local.forward(request, route);
      }
      metrics?.requests.inc({ handled_by: 'peer' });
      const answer = await askOwner(owner, request, key, peerTimeoutMs, doFetch);
      if (answer) return answer;
      // Never around the owner: sending from here would spend the bucket behind its owner's back.
      metrics?.local429.inc({ reason: 'owner_unreachable' });
      logger.warn({ owner, route: route.bucketRoute, major: route.major }, 'bucket owner unreachable; answering 429');
      return rateLimited(OWNER_UNREACHABLE_RETRY_MS, 'owner_unreachable');
    },

    peerRoutes: peerRoutes(key, (request) => {
      metrics?.requests.inc({ handled_by: 'from_peer' });
      return handleLocally(request);
    }),

    async close() {
      // Nothing is pooled beyond fetch's own agent; waiting requests finish or time out on their own.
    },
  };
}
