import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../../core/discord/authorization.ts';
import { discordError, httpStatusError, RESTJSONErrorCodes } from '../../core/discord/rest-errors.ts';
import type { MessageRoutes } from './rest-messages.ts';

export interface GatewayInfo {
  url: () => string;
  shards: number;
  token: string;
  /** Identifies so far: they count against the daily session start limit, as on Discord. */
  identifies: () => number;
  /** The rate-limited message routes (`rest-messages.ts`); without them only the gateway routes exist. */
  messages?: MessageRoutes;
  /** The bot's user for `GET /users/@me` (what a bot, or guildcast in front of it, learns its own id from). */
  botUser?: () => unknown;
}

/** Discord's daily limit on session starts; the simulator reports it but never enforces it. */
const SESSION_START_LIMIT = 1000;
const DAY_MS = 86_400_000;
/** Larger bodies are refused before parsing (Discord's own limit for JSON bodies is far below attachments'). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The REST routes a gateway client needs before connecting (`/api/v10/gateway[/bot]`) and the
 * message routes a bot acts through. Every answer is JSON, errors included, with Discord's
 * `{message, code}` body.
 */
export function restHandler(info: GatewayInfo): (req: IncomingMessage, res: ServerResponse) => void {
  const startedAt = Date.now();
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const route = ROUTES[path];
    if (!route) {
      if (info.messages?.matches(path)) return void messageRoute(info, info.messages, req, res, path);
      return json(res, 404, httpStatusError(404));
    }
    if (req.method !== 'GET') return json(res, 405, httpStatusError(405), { Allow: 'GET' });
    if (route === 'gateway') return json(res, 200, { url: info.url() });
    if (bearerToken(req.headers.authorization) !== info.token) return json(res, 401, httpStatusError(401));
    if (route === 'me') return info.botUser ? json(res, 200, info.botUser()) : json(res, 404, httpStatusError(404));
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

async function messageRoute(info: GatewayInfo, messages: MessageRoutes, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  let text: string;
  try {
    text = await readBody(req);
  } catch {
    return json(res, 413, discordError(RESTJSONErrorCodes.GeneralError, '413: Request Entity Too Large'));
  }
  if (bearerToken(req.headers.authorization) !== info.token) return json(res, 401, httpStatusError(401));
  let body: unknown;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      return json(res, 400, discordError(RESTJSONErrorCodes.RequestBodyContainsInvalidJSON));
    }
  }
  const answer = messages.handle(req.method ?? 'GET', path, body);
  if (answer.status === 204) {
    res.writeHead(204, answer.headers ?? {});
    return void res.end();
  }
  json(res, answer.status, answer.body, answer.headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Read to the end even when too large, so the 413 can still be written on the same socket.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new RangeError('body too large')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

const ROUTES: Record<string, 'gateway' | 'gateway-bot' | 'me'> = {
  '/api/v10/gateway': 'gateway',
  '/api/v10/gateway/bot': 'gateway-bot',
  '/api/v10/users/@me': 'me',
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
