import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';

export interface InvalidatedCacheOptions<V> {
  /** Names the cache in metrics (`cache` label). */
  name: string;
  /** Entries held at most; the least recently used goes first. */
  max: number;
  /** Longest an entry is served: bounds staleness even when an invalidation never arrives. */
  ttlMs: number;
  /** Reads the store; undefined: nothing there (cached too, so a miss is not a store read per request). */
  load: (key: string, signal: AbortSignal) => Promise<V | undefined>;
  registry?: Registry;
}

export interface InvalidatedCache<V> {
  /** The cached value, or the store's (concurrent loads of one key share one read). */
  get(key: string): Promise<V | undefined>;
  /** Forgets `key`: the next `get` reads the store; a load in flight for it is not kept. */
  drop(key: string): void;
  /** Forgets everything (after invalidations may have been missed). */
  clear(): void;
  readonly size: number;
}

/** lru-cache cannot hold undefined: absence is cached as an empty box. */
interface Box<V> {
  value: V | undefined;
}

/** Re-reads after an invalidation overtook a load, before reading once more without the cache. */
const MAX_OVERTAKEN = 3;

/**
 * A read-through cache (lru-cache: bounded, with a TTL, loads coalesced by its `fetchMethod`)
 * whose entries are dropped by invalidations (state-changes-follower.ts). A drop that lands while
 * a load is in flight aborts that load (lru-cache does not store an aborted fetch), and the
 * waiting `get` reads again: its first read may predate the change the drop announced.
 */
export function invalidatedCache<V>({ name, max, ttlMs, load, registry }: InvalidatedCacheOptions<V>): InvalidatedCache<V> {
  const metrics = cacheMetrics(registry);
  const lru = new LRUCache<string, Box<V>>({
    max,
    ttl: ttlMs,
    // Age is checked on read; no timer per entry.
    ttlAutopurge: false,
    fetchMethod: async (key, _stale, { signal }) => ({ value: await load(key, signal) }),
  });
  /** Bumped by every drop/clear: a `get` whose fetch failed after one was overtaken, not broken. */
  let drops = 0;

  return {
    async get(key) {
      for (let attempt = 0; attempt < MAX_OVERTAKEN; attempt++) {
        const before = drops;
        const status: LRUCache.Status<string, Box<V>> = {};
        try {
          const box = await lru.fetch(key, { status });
          metrics.requests.inc({ cache: name, result: status.fetch === 'hit' ? 'hit' : status.fetch === 'inflight' ? 'joined' : 'miss' });
          return box?.value;
        } catch (err) {
          if (drops === before) throw err;
        }
      }
      // Invalidations keep overtaking this key's loads: answer from the store, cache nothing.
      metrics.requests.inc({ cache: name, result: 'bypass' });
      return load(key, new AbortController().signal);
    },
    drop(key) {
      drops++;
      if (lru.delete(key)) metrics.dropped.inc({ cache: name });
    },
    clear() {
      drops++;
      lru.clear();
      metrics.cleared.inc({ cache: name });
    },
    get size() {
      return lru.size;
    },
  };
}

interface CacheMetrics {
  requests: Counter<'cache' | 'result'>;
  dropped: Counter<'cache'>;
  cleared: Counter<'cache'>;
}

function cacheMetrics(registry: Registry | undefined): CacheMetrics {
  const registers = registry ? [registry] : [];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    (registry?.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers });
  return {
    requests: counter('guildcast_state_cache_requests_total', 'Cache reads by outcome: hit, miss (read the store), joined (a load in flight), bypass', ['cache', 'result']),
    dropped: counter('guildcast_state_cache_dropped_total', 'Entries dropped by a state-changes record', ['cache']),
    cleared: counter('guildcast_state_cache_cleared_total', 'Whole-cache drops (the follower (re)joined and may have missed records)', ['cache']),
  };
}
