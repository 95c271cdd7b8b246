/**
 * The contract between the api role's Discord-compatible acting routes and the REST proxy. The api
 * role authenticates the caller (a guild-scoped guildcast token), validates the body, and only then
 * calls `forward`; the proxy adds the bot's real token and owns every rate-limit decision.
 */

export type ProxyMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ProxyRequest {
  method: ProxyMethod;
  /** The route below the API version, as Discord spells it: `/channels/123/messages/456`. No query, no `/api/v10`. */
  path: string;
  /** The query string without `?` (`limit=50&before=1`), or its parsed form. */
  query?: string | URLSearchParams;
  /**
   * A JSON value (serialized with `Content-Type: application/json`), or raw bytes sent as they are
   * (give their `content-type`, e.g. a multipart body). Ignored on GET.
   */
  body?: unknown;
  /**
   * Headers to pass on. Only `content-type` (for raw bodies) and `x-audit-log-reason` reach Discord;
   * `authorization` is always the bot's own and anything else is dropped.
   */
  headers?: Record<string, string | undefined>;
}

export interface ProxyResponse {
  status: number;
  /**
   * Lower-case names: Discord's `content-type`, `x-ratelimit-*`, `retry-after` and `via`-like
   * headers. Send them as they are: a client's own limiter reads them.
   */
  headers: Record<string, string>;
  /** The body exactly as Discord sent it (JSON for every route the api role forwards; empty on 204). */
  body: Buffer;
}

export interface RestProxy {
  /**
   * Sends one request to Discord through the owner of its bucket (this node or a peer), after
   * waiting for the bucket and the global budget. Never throws: transport failures become 502/503
   * answers, and a wait longer than `REST_PROXY_MAX_WAIT_MS` (or an unreachable owner) becomes a
   * Discord-shaped 429 with `Retry-After`, so clients back off instead of looping.
   */
  forward(request: ProxyRequest): Promise<ProxyResponse>;
  /**
   * The fastify plugin serving `POST /internal/rest-proxy/v1/forward`, where peers send the requests
   * this node owns. Register it on the app whose URL is in `REST_PROXY_PEERS`.
   */
  readonly peerRoutes: import('fastify').FastifyPluginAsync;
  /** This node's URL, the peers' and who owns a request: for logs, tests and `/readyz`-style checks. */
  ownerOf(request: Pick<ProxyRequest, 'method' | 'path'>): string;
  close(): Promise<void>;
}
