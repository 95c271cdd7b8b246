import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../../core/discord/authorization.ts';
import { httpStatusError } from '../../core/discord/rest-errors.ts';

export interface GatewayInfo {
  url: () => string;
  shards: number;
  token: string;
  /** Identifies so far: they count against the daily session start limit, as on Discord. */
  identifies: () => number;
}

/** Discord's daily limit on session starts; the simulator reports it but never enforces it. */
const SESSION_START_LIMIT = 1000;
const DAY_MS = 86_400_000;

/**
 * The REST routes a gateway client needs before connecting (`/api/v10/gateway[/bot]`). Every
 * answer is JSON, errors included, with Discord's `{message, code}` body.
 */
export function restHandler(info: GatewayInfo): (req: IncomingMessage, res: ServerResponse) => void {
  const startedAt = Date.now();
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const route = ROUTES[path];
    if (!route) return json(res, 404, httpStatusError(404));
    if (req.method !== 'GET') return json(res, 405, httpStatusError(405), { Allow: 'GET' });
    if (route === 'gateway') return json(res, 200, { url: info.url() });
    if (bearerToken(req.headers.authorization) !== info.token) return json(res, 401, httpStatusError(401));
    return json(res, 200, {
      url: info.url(),
      shards: info.shards,
      session_start_limit: {
        total: SESSION_START_LIMIT,
        remaining: Math.max(0, SESSION_START_LIMIT - info.identifies()),
        reset_after: Math.max(0, DAY_MS - (Date.now() - startedAt)),
        max_concurrency: 1,
      },
    });
  };
}

const ROUTES: Record<string, 'gateway' | 'gateway-bot'> = {
  '/api/v10/gateway': 'gateway',
  '/api/v10/gateway/bot': 'gateway-bot',
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
