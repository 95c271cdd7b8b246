import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ProxyMethod, ProxyRequest, ProxyResponse } from './types.ts';
import { isForwardablePath } from './routes.ts';

/** Where an owner takes requests from its peers (on the app of its REST_PROXY_PEERS URL). */
export const PEER_PATH = '/internal/rest-proxy/v1/forward';
const KEY_HEADER = 'x-guildcast-proxy-key';
/** Attachments are up to 25 MiB on Discord; base64 makes them a third larger. */
const PEER_BODY_LIMIT = 40 * 1024 * 1024;

/**
 * Peers prove they proxy for the same bot with a key derived from its token: no second secret to
 * distribute, and the token itself never crosses the wire between peers.
 */
export function peerKey(token: string): string {
  return createHash('sha256').update('guildcast-rest-proxy-peer\n').update(token).digest('base64url');
}

/** A request as it travels between peers: JSON, raw bodies in base64. */
const wireRequest = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().max(2048).refine(isForwardablePath, 'a forwardable path'),
  query: z.string().max(8192).optional(),
  json: z.unknown().optional(),
  raw: z.base64().optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

const wireResponse = z.object({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()),
  body: z.base64(),
});

export function toWire(request: ProxyRequest): z.input<typeof wireRequest> {
  const out: z.input<typeof wireRequest> = { method: request.method, path: request.path };
  if (request.query !== undefined) out.query = request.query.toString();
  if (request.body instanceof Uint8Array) out.raw = Buffer.from(request.body).toString('base64');
  else if (request.body !== undefined) out.json = request.body;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  out.headers = headers;
  return out;
}

function fromWire(wire: z.output<typeof wireRequest>): ProxyRequest {
  const request: ProxyRequest = { method: wire.method as ProxyMethod, path: wire.path };
  if (wire.query !== undefined) request.query = wire.query;
  if (wire.raw !== undefined) request.body = Buffer.from(wire.raw, 'base64');
  else if (wire.json !== undefined) request.body = wire.json;
  if (wire.headers) request.headers = wire.headers;
  return request;
}

/** Sends a request to the owner of its bucket; undefined when the owner cannot be reached or answered nonsense. */
export async function askOwner(owner: string, request: ProxyRequest, key: string, timeoutMs: number, doFetch: typeof fetch = fetch): Promise<ProxyResponse | undefined> {
  try {
    const res = await doFetch(`${owner}${PEER_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [KEY_HEADER]: key },
      body: JSON.stringify(toWire(request)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) return undefined;
    const parsed = wireResponse.safeParse(await res.json());
    if (!parsed.success) return undefined;
    return { status: parsed.data.status, headers: parsed.data.headers, body: Buffer.from(parsed.data.body, 'base64') };
  } catch {
    return undefined;
  }
}

/**
 * `POST /internal/rest-proxy/v1/forward`: a peer hands over a request whose bucket this node owns.
 * It is handled here whatever this node's own peer list says, so two nodes that disagree during a
 * rollout never bounce a request between them (nirn-proxy's `nirn-routed-to`).
 */
export function peerRoutes(key: string, handle: (request: ProxyRequest) => Promise<ProxyResponse>): FastifyPluginAsync {
  const expected = Buffer.from(key);
  return async (app) => {
    app.post(PEER_PATH, { bodyLimit: PEER_BODY_LIMIT }, async (req, reply) => {
      const given = Buffer.from(String(req.headers[KEY_HEADER] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return reply.code(401).type('application/json').send({ message: '401: Unauthorized', code: 0 });
      }
      const parsed = wireRequest.safeParse(req.body);
      if (!parsed.success) return reply.code(400).type('application/json').send({ message: 'Invalid proxied request', code: 50035, errors: z.treeifyError(parsed.error) });
      const response = await handle(fromWire(parsed.data));
      return reply.code(200).type('application/json').send({ status: response.status, headers: response.headers, body: response.body.toString('base64') });
    });
  };
}
