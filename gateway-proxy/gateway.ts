import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventEnvelope } from '../core/events/envelope.ts';
import type { Logger } from '../core/logger.ts';
import type { EdgeConfig } from './config.ts';
import { GatewayConnection, type GatewayContext } from './connection.ts';
import { Dispatcher } from './dispatcher.ts';
import { GuildCache } from './guild-cache.ts';
import type { EdgeMetrics } from './metrics.ts';
import { CLOSE_REASONS, CloseCode } from './protocol/close-codes.ts';
import { ConcurrencyLimit, KeyedWindows } from './rate-limit.ts';
import { prepareEvent } from './serialize.ts';
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

/** A client that stops heartbeating for this many intervals is a zombie. */
const ZOMBIE_INTERVALS = 1.5;

/**
 * The websocket side of one edge process, without HTTP or Kafka: takes upgrades, runs the
 * connections, and fans events (`publish`) out to the sessions that may see them.
 */
export class EdgeGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<GatewayConnection>();
  private readonly perAddress: ConcurrencyLimit;
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
    this.perAddress = new ConcurrencyLimit(config.EDGE_CONNECTIONS_PER_IP);
    const logger = deps.logger.child({ component: 'gateway' });
    this.ctx = {
      limits: {
        maxPayloadBytes: config.EDGE_MAX_PAYLOAD_BYTES,
        maxShards: config.EDGE_MAX_SHARDS,
        commandsPerMinute: config.EDGE_COMMANDS_PER_MINUTE,
        heartbeatIntervalMs: config.EDGE_HEARTBEAT_INTERVAL_MS,
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

  /** For an http server's 'upgrade' event. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.draining) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const address = request.socket.remoteAddress ?? 'unknown';
    const query = new URL(request.url ?? '/', 'http://edge').searchParams;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, address, query));
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

  private accept(ws: WebSocket, address: string, query: URLSearchParams): void {
    const refuse = (code: CloseCode, detail: string) => {
      this.deps.metrics.closes.inc({ code });
      this.ctx.logger.debug({ address, code, detail }, 'refusing connection');
      ws.close(code, CLOSE_REASONS[code]);
    };
    if (query.get('v') !== '10') return refuse(CloseCode.InvalidApiVersion, `v=${query.get('v')}`);
    if ((query.get('encoding') ?? 'json') !== 'json') return refuse(CloseCode.DecodeError, 'only encoding=json is served');
    const compress = query.get('compress');
    if (compress !== null && compress !== 'zlib-stream') return refuse(CloseCode.DecodeError, 'only compress=zlib-stream is served');
    if (!this.perAddress.acquire(address)) return refuse(CloseCode.RateLimited, 'too many connections from this address');

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
    this.deps.metrics.connections.inc();
    ws.once('close', () => {
      opened.closed();
      this.connections.delete(opened);
      this.perAddress.release(address);
      this.deps.metrics.connections.dec();
    });
  }

  private closeZombies(): void {
    const cutoff = Date.now() - this.config.EDGE_HEARTBEAT_INTERVAL_MS * ZOMBIE_INTERVALS;
    for (const connection of this.connections)
      if (connection.lastHeartbeatAt < cutoff) connection.close(CloseCode.SessionTimedOut, 'no heartbeat');
    this.ctx.identifies.prune();
  }
}
