import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventEnvelope } from '../core/events/envelope.ts';
import type { Logger } from '../core/logger.ts';
import { TcpAdmission } from './admission.ts';
import type { EdgeConfig } from './config.ts';
import { GatewayConnection, type GatewayContext } from './connection.ts';
import { Dispatcher } from './dispatcher.ts';
import { GuildCache } from './guild-cache.ts';
import type { EdgeMetrics } from './metrics.ts';
import { CLOSE_REASONS, CloseCode } from './protocol/close-codes.ts';
import { KeyedWindows } from './rate-limit.ts';
import { controlFrame, prepareEvent } from './serialize.ts';
import { Op } from './protocol/opcodes.ts';
import type { Session } from './session.ts';
import { SessionRegistry } from './session-registry.ts';
import type { TokenSigner } from './tokens.ts';
import { FlushScheduler, SocketWriter, ZlibStreamWriter, type FrameWriter, type WriterOptions } from './writer.ts';

export type GatewayConfig = Pick<
  EdgeConfig,
  | 'EDGE_RESUME_WINDOW_MS'
  | 'EDGE_RESUME_BUFFER_EVENTS'
  | 'EDGE_HEARTBEAT_INTERVAL_MS'
  | 'EDGE_MAX_BUFFERED_BYTES'
  | 'EDGE_MAX_PAYLOAD_BYTES'
  | 'EDGE_MAX_FRAME_BYTES'
  | 'EDGE_COMMANDS_PER_MINUTE'
  | 'EDGE_IDENTIFIES_PER_5S'
  | 'EDGE_CONNECTIONS_PER_IP'
  | 'EDGE_MAX_CONNECTIONS'
  | 'EDGE_RESERVED_CONNECTIONS'
  | 'EDGE_HANDSHAKE_TIMEOUT_MS'
  | 'EDGE_IDENTIFY_TIMEOUT_MS'
  | 'EDGE_MAX_SHARDS'
  | 'EDGE_GUILD_CACHE_SIZE'
>;

export interface GatewayDeps {
  tokens: TokenSigner;
  metrics: EdgeMetrics;
  logger: Logger;
  /** This process's websocket URL, for READY's resume_gateway_url. */
  publicUrl: () => string;
}

/** 503 and gone: the socket is destroyed once the answer is written, so it cannot linger half-closed. */
function refuseUpgrade(socket: Duplex): void {
  socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
}

/** A client that stops heartbeating for this many intervals is a zombie. */
const ZOMBIE_INTERVALS = 1.5;

/**
 * The websocket side of one edge process, without HTTP or Kafka: takes upgrades, runs the
 * connections, and fans events (`publish`) out to the sessions that may see them.
 */
export class EdgeGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<GatewayConnection>();
  private readonly admission: TcpAdmission;
  /** Websockets without a session yet, oldest first, and their sockets: what a full edge evicts for a newcomer. */
  private readonly unidentified = new Map<GatewayConnection, { socket: Socket }>();
  private readonly scheduler = new FlushScheduler();
  private readonly dispatcher = new Dispatcher();
  private readonly ctx: GatewayContext;
  private readonly sweep: NodeJS.Timeout;
  private draining = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: GatewayDeps,
  ) {
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: config.EDGE_MAX_FRAME_BYTES, clientTracking: false });
    this.admission = new TcpAdmission(
      {
        perAddress: config.EDGE_CONNECTIONS_PER_IP,
        maxConnections: config.EDGE_MAX_CONNECTIONS,
        reservedConnections: config.EDGE_RESERVED_CONNECTIONS,
        handshakeTimeoutMs: config.EDGE_HANDSHAKE_TIMEOUT_MS,
      },
      deps.metrics,
    );
    const logger = deps.logger.child({ component: 'gateway' });
    this.ctx = {
      limits: {
        maxPayloadBytes: config.EDGE_MAX_PAYLOAD_BYTES,
        maxShards: config.EDGE_MAX_SHARDS,
        commandsPerMinute: config.EDGE_COMMANDS_PER_MINUTE,
        heartbeatIntervalMs: config.EDGE_HEARTBEAT_INTERVAL_MS,
        identifyTimeoutMs: config.EDGE_IDENTIFY_TIMEOUT_MS,
      },
      publicUrl: deps.publicUrl,
      tokens: deps.tokens,
      sessions: new SessionRegistry(
        this.dispatcher,
        { resumeWindowMs: config.EDGE_RESUME_WINDOW_MS, replayCapacity: config.EDGE_RESUME_BUFFER_EVENTS },
        deps.metrics,
        logger,
      ),
      dispatcher: this.dispatcher,
      guilds: new GuildCache(config.EDGE_GUILD_CACHE_SIZE),
      identifies: new KeyedWindows(config.EDGE_IDENTIFIES_PER_5S, 5_000),
      metrics: deps.metrics,
      logger,
      authenticated: (connection) => this.unidentified.delete(connection),
    };
    const every = Math.min(5_000, Math.max(50, config.EDGE_HEARTBEAT_INTERVAL_MS / 4));
    this.sweep = setInterval(() => this.closeZombies(), every);
    this.sweep.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Fans one event out; returns how many sessions it was dispatched to. */
  publish(event: EventEnvelope): number {
    this.ctx.guilds.observe(event);
    return this.dispatcher.dispatch(prepareEvent(event));
  }

  /**
   * Serves websockets on `server` and admits its TCP connections (per-address limit, cap, handshake
   * deadline) from accept on, before any upgrade. Returns the detach.
   */
  attach(server: Server): () => void {
    const detachAdmission = this.admission.attach(server);
    const onUpgrade = this.handleUpgrade.bind(this);
    server.on('upgrade', onUpgrade);
    return () => {
      server.off('upgrade', onUpgrade);
      detachAdmission();
    };
  }

  /** For an http server's 'upgrade' event (after `attach` admitted the connection). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.draining) return refuseUpgrade(socket);
    if (!this.admission.claimWebsocket(request.socket, () => this.evictUnidentified())) return refuseUpgrade(socket);
    const address = request.socket.remoteAddress ?? 'unknown';
    const query = new URL(request.url ?? '/', 'http://edge').searchParams;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, address, query, request.socket));
  }

  /** Drops a session's connection without a close frame, as a network failure would (operators, tests). */
  disconnect(sessionId: string): boolean {
    for (const connection of this.connections) {
      if (connection.sessionId === sessionId) {
        connection.terminate();
        return true;
      }
    }
    return false;
  }

  /** op 7 to every client, then waits up to `graceMs` for them to leave and closes the rest (4000). */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    for (const connection of this.connections) connection.reconnect();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const connection of this.connections) connection.close(CloseCode.UnknownError, 'draining');
  }

  async close(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweep);
    for (const connection of this.connections) connection.terminate();
    this.ctx.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /**
   * The websocket slots are full: the oldest connection without a session makes room (it could
   * only heartbeat), so a flood of them cannot keep good clients out until their deadline. No
   * minimum age, for the reason given at TcpAdmission.evictIdle; a good client evicted while it
   * waits for its identify throttle reconnects.
   */
  private evictUnidentified(): boolean {
    const oldest = this.unidentified.entries().next();
    if (oldest.done) return false;
    const [connection, { socket }] = oldest.value;
    this.unidentified.delete(connection);
    this.deps.metrics.connectionsDropped.inc({ reason: 'evicted_unidentified' });
    connection.terminate();
    this.admission.release(socket);
    return true;
  }

  private accept(ws: WebSocket, address: string, query: URLSearchParams, socket: Socket): void {
    const refuse = (code: CloseCode, detail: string) => {
      this.deps.metrics.closes.inc({ code });
      this.ctx.logger.debug({ address, code, detail }, 'refusing connection');
      ws.close(code, CLOSE_REASONS[code]);
    };
    if (query.get('v') !== '10') return refuse(CloseCode.InvalidApiVersion, `v=${query.get('v')}`);
    if ((query.get('encoding') ?? 'json') !== 'json') return refuse(CloseCode.DecodeError, 'only encoding=json is served');
    const compress = query.get('compress');
    if (compress !== null && compress !== 'zlib-stream') return refuse(CloseCode.DecodeError, 'only compress=zlib-stream is served');

    let connection: GatewayConnection | undefined;
    const options: WriterOptions = {
      scheduler: this.scheduler,
      metrics: this.deps.metrics,
      maxBufferedBytes: this.config.EDGE_MAX_BUFFERED_BYTES,
      onSlowConsumer: () => connection?.slowConsumer(),
    };
    const writer: FrameWriter = compress ? new ZlibStreamWriter(ws, options) : new SocketWriter(ws, options);
    const opened = new GatewayConnection(ws, address, writer, this.ctx);
    connection = opened;
    this.connections.add(opened);
    this.unidentified.set(opened, { socket });
    this.deps.metrics.connections.inc();
    ws.once('close', () => {
      opened.closed();
      this.connections.delete(opened);
      this.unidentified.delete(opened);
      this.deps.metrics.connections.dec();
    });
  }

  private closeZombies(): void {
    const cutoff = Date.now() - this.config.EDGE_HEARTBEAT_INTERVAL_MS * ZOMBIE_INTERVALS;
    for (const connection of this.connections)
      if (connection.lastHeartbeatAt < cutoff) connection.close(CloseCode.SessionTimedOut, 'no heartbeat');
    this.ctx.identifies.prune();
  }

  /**
   * op 9 `false` to every session `affected` picks, connected or waiting to resume, and forgets
   * it: events it needed are gone (the deliveries consumer fell below Kafka's log start), so it
   * must IDENTIFY again and backfill from history instead of resuming over the gap. Clients close
   * on op 9 themselves; a connection still open after a grace period is closed. Returns how many.
   */
  invalidateSessions(affected: (session: Session) => boolean): number {
    const invalid = [...this.ctx.sessions.values()].filter(affected);
    const ids = new Set(invalid.map((session) => session.id));
    for (const session of invalid) this.ctx.sessions.forget(session);
    for (const connection of this.connections) {
      if (connection.sessionId === undefined || !ids.has(connection.sessionId)) continue;
      connection.send(INVALID_SESSION_FRAME);
      setTimeout(() => connection.close(CloseCode.SessionTimedOut, 'session invalidated'), INVALIDATED_CLOSE_GRACE_MS).unref();
    }
    return invalid.length;
  }
}

/** op 9 `false`: not resumable, IDENTIFY again. */
const INVALID_SESSION_FRAME = controlFrame(Op.InvalidSession, false);
const INVALIDATED_CLOSE_GRACE_MS = 5_000;
