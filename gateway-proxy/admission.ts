import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EdgeMetrics } from './metrics.ts';
import { ConcurrencyLimit } from './rate-limit.ts';

export interface AdmissionLimits {
  /** Open TCP connections per remote address, counted from accept (EDGE_CONNECTIONS_PER_IP). */
  perAddress: number;
  /** Open TCP connections of every kind (EDGE_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Of those, the ones that never become websockets (EDGE_RESERVED_CONNECTIONS). */
  reservedConnections: number;
  /** Accept to complete request headers (EDGE_HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs: number;
}

interface Tracked {
  address: string;
  deadline: NodeJS.Timeout | undefined;
  websocket: boolean;
}

type Metrics = Pick<EdgeMetrics, 'tcpConnections' | 'connectionsRefused' | 'connectionsDropped'>;

/**
 * Admission for every TCP connection of the server, before any HTTP or websocket work: a
 * per-address limit and a global cap counted at accept (so raw and half-sent connections count),
 * and a deadline for the request headers. Node's own headersTimeout does not help here: with
 * fastify's requestTimeout 0 its connection checks never run, so a connection that sends nothing
 * stays forever (verified on Node 24).
 *
 * Health checks stay reachable under a flood because websockets may take at most
 * `maxConnections - reservedConnections` slots, and at the cap a new connection evicts the oldest
 * one that is idle (no request yet, or between keep-alive requests): a flood of idle sockets is
 * pushed out by newcomers, while a probe sends its request at once and stops being idle.
 */
export class TcpAdmission {
  private readonly tracked = new Map<Socket, Tracked>();
  /** Sockets without a request in progress, oldest first (a Map keeps insertion order): eviction candidates. */
  private readonly idle = new Set<Socket>();
  private readonly perAddress: ConcurrencyLimit;
  private websockets = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly metrics: Metrics,
  ) {
    this.perAddress = new ConcurrencyLimit(limits.perAddress);
  }

  get open(): number {
    return this.tracked.size;
  }

  get websocketCapacity(): number {
    return this.limits.maxConnections - this.limits.reservedConnections;
  }

  /** Hooks the server's accept and requests; returns the detach. */
  attach(server: Server): () => void {
    const onConnection = (socket: Socket) => this.admit(socket);
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket;
      this.busy(socket);
      // Between keep-alive requests Node's keepAliveTimeout applies; ours only bounds a next
      // request that never completes its headers (Node does not, see above).
      response.once('close', () => this.idleAgain(socket, server.keepAliveTimeout + this.limits.handshakeTimeoutMs));
    };
    server.on('connection', onConnection);
    server.on('request', onRequest);
    return () => {
      server.off('connection', onConnection);
      server.off('request', onRequest);
    };
  }

  /**
   * An upgrade request on `socket` (its headers are complete): true when it may become a websocket.
   * `evict` is asked to free a websocket slot when none is left; it returns whether it did.
   */
  claimWebsocket(socket: Socket, evict: () => boolean): boolean {
    const tracked = this.tracked.get(socket);
    if (!tracked) return false;
    this.busy(socket);
    if (this.websockets >= this.websocketCapacity && !evict()) {
      this.metrics.connectionsRefused.inc({ reason: 'websocket_capacity' });
      return false;
    }
    tracked.websocket = true;
    this.websockets++;
    return true;
  }

  /** Forgets a socket at once (idempotent; its 'close' comes later): its slots are free for the next one. */
  release(socket: Socket): void {
    const tracked = this.tracked.get(socket);
    if (!tracked) return;
    this.tracked.delete(socket);
    this.idle.delete(socket);
    clearTimeout(tracked.deadline);
    if (tracked.websocket) this.websockets--;
    this.perAddress.release(tracked.address);
    this.metrics.tcpConnections.dec();
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    if (!this.perAddress.acquire(address)) return this.refuse(socket, 'per_address');
    if (this.tracked.size >= this.limits.maxConnections && !this.evictIdle()) {
      this.perAddress.release(address);
      return this.refuse(socket, 'capacity');
    }
    this.tracked.set(socket, { address, deadline: undefined, websocket: false });
    this.metrics.tcpConnections.inc();
    socket.once('close', () => this.release(socket));
    this.idleAgain(socket, this.limits.handshakeTimeoutMs);
  }

  private refuse(socket: Socket, reason: 'per_address' | 'capacity'): void {
    this.metrics.connectionsRefused.inc({ reason });
    socket.destroy();
  }

  private busy(socket: Socket): void {
    const tracked = this.tracked.get(socket);
    if (!tracked) return;
    this.idle.delete(socket);
    clearTimeout(tracked.deadline);
    tracked.deadline = undefined;
  }

  private idleAgain(socket: Socket, deadlineMs: number): void {
    const tracked = this.tracked.get(socket);
    if (!tracked || tracked.websocket) return;
    this.idle.delete(socket); // re-inserted: now the newest
    this.idle.add(socket);
    clearTimeout(tracked.deadline);
    tracked.deadline = setTimeout(() => this.drop(socket, 'handshake_timeout'), deadlineMs);
    tracked.deadline.unref();
  }

  /**
   * Drops the oldest idle socket (the first in the map). No minimum age: one would let a fast flood
   * keep every idle socket younger than it and so lock probes out. A socket that sends its request
   * at once (a probe, a client) stops being idle within a round trip, long before C/rate seconds.
   */
  private evictIdle(): boolean {
    const oldest = this.idle.keys().next();
    if (oldest.done) return false;
    this.drop(oldest.value, 'evicted_idle');
    return true;
  }

  private drop(socket: Socket, reason: 'handshake_timeout' | 'evicted_idle'): void {
    this.metrics.connectionsDropped.inc({ reason });
    this.release(socket);
    socket.destroy();
  }
}
