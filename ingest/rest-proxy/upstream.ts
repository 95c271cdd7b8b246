import { discordError, httpStatusError } from '../../core/discord/rest-errors.ts';
import type { ProxyRequest, ProxyResponse } from './types.ts';

/** Headers of Discord's answer that a client needs; hop-by-hop and Cloudflare's own stay behind. */
const PASSED_BACK = /^(content-type|retry-after|x-ratelimit-[a-z-]+)$/;
const USER_AGENT = 'DiscordBot (https://github.com/guildcast, 0.1.0) guildcast-rest-proxy';

export interface UpstreamOptions {
  apiBase: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** One request to Discord with the bot's token. Never throws: failures are 502/504 answers in Discord's error shape. */
export type Upstream = (request: ProxyRequest) => Promise<ProxyResponse>;

export function createUpstream({ apiBase, token, timeoutMs, fetch: doFetch = fetch }: UpstreamOptions): Upstream {
  const base = `${apiBase.replace(/\/+$/, '')}/v10`;
  return async (request) => {
    const query = request.query === undefined ? '' : request.query.toString();
    const url = `${base}${request.path}${query ? `?${query}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bot ${token}`, 'user-agent': USER_AGENT };
    const reason = request.headers?.['x-audit-log-reason'];
    if (reason) headers['x-audit-log-reason'] = reason;
    let body: string | Uint8Array | undefined;
    if (request.method !== 'GET' && request.body !== undefined) {
      if (request.body instanceof Uint8Array) {
        body = request.body;
        headers['content-type'] = request.headers?.['content-type'] ?? 'application/octet-stream';
      } else {
        body = JSON.stringify(request.body);
        headers['content-type'] = 'application/json';
      }
    }
    try {
      const res = await doFetch(url, { method: request.method, headers, ...(body !== undefined && { body }), signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      const passed: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        if (PASSED_BACK.test(name)) passed[name] = value;
      });
      return { status: res.status, headers: passed, body: Buffer.from(await res.arrayBuffer()) };
    } catch (err) {
      // Not retried: a POST that timed out may have been applied, and only the caller can tell.
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return timedOut ? jsonResponse(504, discordError(0, '504: Gateway Timeout')) : jsonResponse(502, httpStatusError(502));
    }
  };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): ProxyResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}
