import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../core/config.ts';
import { createRegistry } from '../core/metrics.ts';
import { TcpAdmission } from './admission.ts';
import { loadEdgeConfig } from './config.ts';
import { createEdgeMetrics } from './metrics.ts';

/** Just what admission touches of a net.Socket: its address, 'close' and destroy(). */
class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly remoteAddress: string) {
    super();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
  }
}

function setup(limits: Partial<ConstructorParameters<typeof TcpAdmission>[0]> = {}) {
  const metrics = createEdgeMetrics(createRegistry('admission-test', { defaults: false }));
  const admission = new TcpAdmission({ perAddress: 2, maxConnections: 4, reservedConnections: 1, handshakeTimeoutMs: 1_000, ...limits }, metrics);
  const server = Object.assign(new EventEmitter(), { keepAliveTimeout: 5_000 });
  admission.attach(server as unknown as Server);
  const connect = (address: string) => {
    const socket = new FakeSocket(address);
    server.emit('connection', socket);
    return socket;
  };
  const request = (socket: FakeSocket) => {
    const response = new EventEmitter();
    server.emit('request', { socket }, response);
    return () => response.emit('close');
  };
  const count = async (name: 'connectionsRefused' | 'connectionsDropped', reason: string) =>
    (await metrics[name].get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { admission, connect, request, count };
}

describe('TcpAdmission', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('counts connections per address at accept and frees the slot when one closes', async () => {
    const { admission, connect, count } = setup();
    const [a, b, c] = [connect('10.0.0.1'), connect('10.0.0.1'), connect('10.0.0.1')];
    expect([a.destroyed, b.destroyed, c.destroyed]).toEqual([false, false, true]);
    expect(await count('connectionsRefused', 'per_address')).toBe(1);
    a.destroy();
    await Promise.resolve();
    expect(connect('10.0.0.1').destroyed).toBe(false);
    expect(admission.open).toBe(2);
  });

  it('at the cap evicts the oldest idle connection, never one serving a request, and refuses when none is idle', async () => {
    const { connect, request, count } = setup({ perAddress: 10 });
    const busy = [connect('10.0.0.1'), connect('10.0.0.2')];
    for (const s of busy) request(s);
    const idle = [connect('10.0.0.3'), connect('10.0.0.4')];
    const probe = connect('10.0.0.5'); // the cap is 4: the oldest idle one goes
    expect([...busy, ...idle, probe].map((s) => s.destroyed)).toEqual([false, false, true, false, false]);
    request(probe);
    request(connect('10.0.0.6')); // evicts idle[1], then serves a request
    const refused = connect('10.0.0.7'); // nothing idle is left
    expect([idle[1]!.destroyed, refused.destroyed]).toEqual([true, true]);
    expect([await count('connectionsDropped', 'evicted_idle'), await count('connectionsRefused', 'capacity')]).toEqual([2, 1]);
  });

  it('drops a connection that completes no request within the handshake deadline', async () => {
    const { connect, request, count } = setup({ perAddress: 10 });
    const silent = connect('10.0.0.1');
    const answered = connect('10.0.0.2');
    const done = request(answered);
    vi.advanceTimersByTime(1_001);
    expect([silent.destroyed, answered.destroyed]).toEqual([true, false]);
    done(); // keep-alive: Node's keepAliveTimeout (5 s) first, then the deadline for the next request's headers
    vi.advanceTimersByTime(5_500);
    expect(answered.destroyed).toBe(false);
    vi.advanceTimersByTime(600);
    expect(answered.destroyed).toBe(true);
    expect(await count('connectionsDropped', 'handshake_timeout')).toBe(2);
  });

  it('keeps the reserve out of reach of websockets, asking to evict one first', async () => {
    const { admission, connect, count } = setup({ perAddress: 10 });
    const sockets = [connect('10.0.0.1'), connect('10.0.0.2'), connect('10.0.0.3'), connect('10.0.0.4')];
    const claims = sockets.map((s) => admission.claimWebsocket(s as unknown as Socket, () => false));
    expect(claims).toEqual([true, true, true, false]); // 4 - 1 reserved
    expect(await count('connectionsRefused', 'websocket_capacity')).toBe(1);
    let evicted = false;
    const claimed = admission.claimWebsocket(sockets[3] as unknown as Socket, () => {
      admission.release(sockets[0] as unknown as Socket);
      return (evicted = true);
    });
    expect([claimed, evicted]).toEqual([true, true]);
  });
});

describe('connection settings', () => {
  it('refuses a reserve that leaves no room for websockets, naming the variable', () => {
    expect(() => loadEdgeConfig({ EDGE_MAX_CONNECTIONS: '100', EDGE_RESERVED_CONNECTIONS: '100' })).toThrow(ConfigError);
    expect(() => loadEdgeConfig({ EDGE_MAX_CONNECTIONS: '100', EDGE_RESERVED_CONNECTIONS: '100' })).toThrow(/EDGE_RESERVED_CONNECTIONS: expected below EDGE_MAX_CONNECTIONS \(100\)/);
    expect(() => loadEdgeConfig({ EDGE_IDENTIFY_TIMEOUT_MS: '50' })).toThrow(/EDGE_IDENTIFY_TIMEOUT_MS/);
    expect(() => loadEdgeConfig({ EDGE_HANDSHAKE_TIMEOUT_MS: '3000000000' })).toThrow(/EDGE_HANDSHAKE_TIMEOUT_MS/);
    expect(loadEdgeConfig({})).toMatchObject({ EDGE_MAX_CONNECTIONS: 16_000, EDGE_RESERVED_CONNECTIONS: 64, EDGE_HANDSHAKE_TIMEOUT_MS: 10_000, EDGE_IDENTIFY_TIMEOUT_MS: 60_000 });
  });
});
