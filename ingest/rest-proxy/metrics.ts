import { Counter, Gauge, type Registry } from 'prom-client';

export type RestProxyMetrics = ReturnType<typeof createRestProxyMetrics>;

export function createRestProxyMetrics(registry: Registry, depth: () => number) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'guildcast_rest_proxy_requests_total',
      help: 'Requests given to the proxy, by who handled them: this node as the bucket owner (owner), a peer that owns the bucket (peer), or a peer on behalf of this node arriving here (from_peer).',
      labelNames: ['handled_by'] as const,
      registers,
    }),
    upstream: new Counter({
      name: 'guildcast_rest_proxy_upstream_requests_total',
      help: 'Requests this node sent to Discord, by answer status.',
      labelNames: ['status'] as const,
      registers,
    }),
    upstream429: new Counter({
      name: 'guildcast_rest_proxy_upstream_429_total',
      help: "429s Discord answered, by X-RateLimit-Scope (user, global, shared); each is an invalid request in Discord's Cloudflare count unless shared.",
      labelNames: ['scope'] as const,
      registers,
    }),
    local429: new Counter({
      name: 'guildcast_rest_proxy_local_429_total',
      help: 'Requests the proxy answered 429 itself without asking Discord, by reason (max_wait, queue_full, owner_unreachable).',
      labelNames: ['reason'] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'guildcast_rest_proxy_queue_depth',
      help: 'Requests holding or waiting for a bucket on this node.',
      registers,
      collect() {
        this.set(depth());
      },
    }),
  };
}
