import http from 'node:http';
import net from 'node:net';
import { startRole, type RoleProcess } from '../test/child.ts';

/**
 * The edge as its own process, as operators run it, with a file-descriptor limit of `maxFiles`
 * (`ulimit -n`, so a flood that the edge lets through exhausts it, as in production).
 */
export function startEdgeProcess(env: Record<string, string>, maxFiles: number): RoleProcess {
  return startRole('gateway-proxy/main.ts', env, [], { maxOpenFiles: maxFiles });
}

/** One HTTP GET on a connection of its own from `localAddress`; status 0 when it failed at all. */
export function probe(port: number, path: string, localAddress = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, localAddress, agent: false, headers: { connection: 'close' }, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', (err) => resolve({ status: 0, body: String(err) }));
    });
    request.on('timeout', () => request.destroy(new Error('probe timed out')));
    request.on('error', (err) => resolve({ status: 0, body: String(err) }));
  });
}

/** Sum of a metric's samples in Prometheus text whose labels include `labels`. */
export function metricFrom(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

/** A raw TCP connection from `localAddress` that sends `send` (nothing, or half a request) and then idles. */
export class IdleSocket {
  readonly socket: net.Socket;
  connected = false;
  closed = false;

  constructor(port: number, localAddress: string, send?: string) {
    this.socket = net.connect({ host: '127.0.0.1', port, localAddress });
    this.socket.on('connect', () => {
      this.connected = true;
      if (send) this.socket.write(send);
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    this.socket.resume();
  }

  /** Connected and not (yet) closed by the edge. */
  get open(): boolean {
    return this.connected && !this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Polls `value` until `done` holds or `boundMs` passes; returns the last value either way (figures for a failing run). */
export async function settle<T>(value: () => Promise<T> | T, done: (v: T) => boolean, boundMs: number): Promise<T> {
  const deadline = Date.now() + boundMs;
  let last = await value();
  while (!done(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await value();
  }
  return last;
}
