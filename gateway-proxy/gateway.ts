import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventEnvelope } from '../core/events/envelope.ts';
import type { Logger } from '../core/logger.ts';
import { GatewayCloseCodes, GatewayOpcodes } from '../core/discord/protocol.ts';
import { closeReason } from '../core/discord/gateway/close-codes.ts';
import { closeZombies, GatewayConnection } from '../core/discord/gateway/connection.ts';
import { controlFrame, type Outgoing } from '../core/discord/gateway/frames.ts';
import { createFrameWriter, FlushScheduler, isTransportCompression, TRANSPORT_COMPRESSIONS, type WriterOptions } from '../core/discord/gateway/writer.ts';
import { WsTransport } from '../core/discord/gateway/ws-transport.ts';
import { TcpAdmission } from './admission.ts';
import type { EdgeConfig } from './config.ts';
import { Checkpointer } from './checkpointer.ts';
import { EdgeConnectionHost, type GatewayContext, type SessionPersistence } from './connection.ts';
import type { DeliverySource, FeedOrigin } from './delivery-source.ts';
import { Dispatcher } from './dispatcher.ts';
import { EdgeGuildState, type GuildStateReader } from './guild-cache.ts';
import type { EdgeMetrics } from './metrics.ts';
import { SessionInterest } from './interest.ts';
import { IGNORED_CLIENT_OPS } from './protocol/frames.ts';
import { FixedWindow, KeyedWindows } from '../core/rate-limit/fixed-window.ts';
import { prepareEvent } from './serialize.ts';
import type { FeedCursor, Session } from './session.ts';
import { SessionRegistry } from './session-registry.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenSigner } from './tokens.ts';

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
  | 'EDGE_NODE_ID'
  | 'EDGE_SESSION_CHECKPOINT_MS'
  | 'EDGE_FLUSH_WINDOW_MS'
>;

export interface GatewayDeps {
  tokens: TokenSigner;
  metrics: EdgeMetrics;
  logger: Logger;
  /** READY's resume_gateway_url: this process's websocket URL, or the fleet's when a session store lets any node resume. */
  publicUrl: () => string;
  /** The feed whose partitions sessions want, replay from and checkpoint positions of; none: nothing is read (benchmarks). */
  source?: DeliverySource;
  /** Sessions written here can be resumed on any node (needs `source`); none: sessions live in this process only. */
  sessionStore?: SessionStore;
  /** Where the guilds of partitions sessions start reading are loaded from; none: only what the stream shows. */
  guildStates?: GuildStateReader;
}


/** 503 and gone: the socket is destroyed once the answer is written, so it cannot linger half-closed. */
function refuseUpgrade(socket: Duplex): void {
  socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
}

/**
 * The websocket side of one edge process, without HTTP or Kafka: takes upgrades, runs the
 * connections, and fans events (`publish`) out to the sessions that may see them.
 */
export class EdgeGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<GatewayConnection<Session>>();
  private readonly admission: TcpAdmission;
  /** Websockets without a session yet, oldest first, and their sockets: what a full edge evicts for a newcomer. */
  private readonly unidentified = new Map<GatewayConnection<Session>, { socket: Socket }>();
  private readonly scheduler: FlushScheduler;
  private readonly dispatcher = new Dispatcher();
  private readonly ctx: GatewayContext;
  private readonly host: EdgeConnectionHost;
  private readonly sweep: NodeJS.Timeout;
  private draining = false;
  /** Draining: events no longer reach sessions, so the checkpoints written stay exact until every client left. */
  private held = false;
  private readonly cursor: FeedCursor = { origin: undefined };
  private readonly persistence: SessionPersistence | undefined;

  constructor(
    private readonly config: GatewayConfig,
    private readonly deps: GatewayDeps,
  ) {
    this.scheduler = new FlushScheduler({ windowMs: config.EDGE_FLUSH_WINDOW_MS });
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
    const sessions = new SessionRegistry(
      this.dispatcher,
      { resumeWindowMs: config.EDGE_RESUME_WINDOW_MS, replayCapacity: config.EDGE_RESUME_BUFFER_EVENTS, cursor: this.cursor },
      deps.metrics,
      logger,
    );
    if (deps.sessionStore && deps.source) {
      this.persistence = {
        store: deps.sessionStore,
        source: deps.source,
        takeovers: new Set(),
        checkpointer: new Checkpointer(
          deps.sessionStore,
          deps.source,
          () => sessions.values(),
          { nodeId: config.EDGE_NODE_ID, intervalMs: config.EDGE_SESSION_CHECKPOINT_MS, resumeWindowMs: config.EDGE_RESUME_WINDOW_MS },
          deps.metrics,
          logger,
        ),
      };
    }
    const guilds = new EdgeGuildState(config.EDGE_GUILD_CACHE_SIZE, deps.guildStates, logger);
    this.ctx = {
      limits: { maxShards: config.EDGE_MAX_SHARDS },
      publicUrl: deps.publicUrl,
      tokens: deps.tokens,
      sessions,
      dispatcher: this.dispatcher,
      guilds,
      interest: new SessionInterest(deps.source, guilds, logger),
      ...(this.persistence ? { persistence: this.persistence } : {}),
      identifies: new KeyedWindows(config.EDGE_IDENTIFIES_PER_5S, 5_000),
      metrics: deps.metrics,
      logger,
    };
    this.host = new EdgeConnectionHost(this.ctx);
    const every = Math.min(5_000, Math.max(50, config.EDGE_HEARTBEAT_INTERVAL_MS / 4));
    this.sweep = setInterval(() => this.closeZombies(), every);
    this.sweep.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Fans one event out; returns how many sessions it was dispatched to (none while a drain holds
   * the feed). `origin`: where on the feed it came from.
   */
  publish(event: EventEnvelope, origin?: FeedOrigin): number {
    if (this.held) return 0;
    this.ctx.guilds.observe(event);
    this.cursor.origin = origin;
    try {
      return this.dispatcher.dispatch(prepareEvent(event));
    } finally {
      this.cursor.origin = undefined;
    }
  }

  /** The partitions this node's sessions read now (ascending). */
  partitionsRead(): number[] {
    return this.ctx.interest.read();
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
    if (this.draining) {
      if (!this.persistence) return refuseUpgrade(socket);
      // Any node can resume the session: tell the client to resume elsewhere (4000) instead of
      // refusing the upgrade. @discordjs/ws treats a failed upgrade (a 503 is a socket error to it,
      // then 1006) as "reconnect" and drops its session, so a balancer that still picks a
      // draining node would make its clients IDENTIFY again and miss what passed meanwhile.
      return this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.deps.metrics.closes.inc({ code: GatewayCloseCodes.UnknownError });
        ws.close(GatewayCloseCodes.UnknownError, 'draining: resume on another node');
      });
    }
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

  /**
   * op 7 to every client, then waits up to `graceMs` for them to leave and closes the rest (4000).
   * With a session store, first: takeovers under way finish; then, in one synchronous step, the
   * feed is held (events stop reaching sessions) and every session's exact checkpoint is taken;
   * they are written, and no checkpoint is taken after (this node's positions move on past events
   * its sessions no longer get). A client resuming elsewhere replays from there: nothing missed,
   * nothing repeated.
   *
   * Why events are dropped rather than refused or paused: a handler that throws makes the Kafka
   * source retry the batch and, after repeated failures, recreate its consumer and end the
   * process (consumer.ts); releasing the partitions would drop their positions and guild state
   * while clients are still connected. Nothing on a draining node needs the events any more: the
   * node that takes each session over replays them from the feed.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const persistence = this.persistence;
    if (persistence) {
      persistence.checkpointer.stop();
      await Promise.allSettled([...persistence.takeovers]);
      this.held = true;
      const written = await persistence.checkpointer.checkpointAll();
      persistence.checkpointer.close();
      this.ctx.logger.info({ sessions: written }, 'drain: feed held, session checkpoints written');
    }
    for (const connection of this.connections) connection.reconnect();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const connection of this.connections) connection.close(GatewayCloseCodes.UnknownError, 'draining');
  }

  async close(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweep);
    // Closing is not a drain: nothing more is written (the checkpoints a crash would have left stand).
    this.persistence?.checkpointer.close();
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
    const refuse = (code: GatewayCloseCodes, detail: string) => {
      this.deps.metrics.closes.inc({ code });
      this.ctx.logger.debug({ address, code, detail }, 'refusing connection');
      ws.close(code, closeReason(code));
    };
    if (query.get('v') !== '10') return refuse(GatewayCloseCodes.InvalidAPIVersion, `v=${query.get('v')}`);
    if ((query.get('encoding') ?? 'json') !== 'json') return refuse(GatewayCloseCodes.DecodeError, 'only encoding=json is served');
    const compress = query.get('compress');
    if (compress !== null && !isTransportCompression(compress)) return refuse(GatewayCloseCodes.DecodeError, `only compress=${TRANSPORT_COMPRESSIONS.join('|')} is served`);

    const transport = new WsTransport(ws, (err) => this.ctx.logger.debug({ err, address }, 'websocket error'));
    let connection: GatewayConnection<Session> | undefined;
    const options: WriterOptions = {
      scheduler: this.scheduler,
      maxBufferedBytes: this.config.EDGE_MAX_BUFFERED_BYTES,
      onSlowConsumer: () => connection?.slowConsumer(),
      onFlushed: this.recordFlush,
    };
    const writer = createFrameWriter(compress, transport, options);
    const host = this.host.for(address, {
      attached: (opened) => this.unidentified.delete(opened),
      closed: (opened) => {
        this.connections.delete(opened);
        this.unidentified.delete(opened);
        this.deps.metrics.connections.dec();
      },
    });
    const opened = new GatewayConnection<Session>(
      transport,
      writer,
      {
        heartbeatIntervalMs: this.config.EDGE_HEARTBEAT_INTERVAL_MS,
        identifyTimeoutMs: this.config.EDGE_IDENTIFY_TIMEOUT_MS,
        maxPayloadBytes: this.config.EDGE_MAX_PAYLOAD_BYTES,
        ignoredCommands: IGNORED_CLIENT_OPS,
        commandLimiter: new FixedWindow(this.config.EDGE_COMMANDS_PER_MINUTE, 60_000),
      },
      host,
    );
    connection = opened;
    this.connections.add(opened);
    this.unidentified.set(opened, { socket });
    this.deps.metrics.connections.inc();
  }

  /** Dispatches and bytes that reached a socket, and how old the oldest event in them was. */
  private readonly recordFlush = (frames: readonly Outgoing[], bytes: number): void => {
    const { metrics } = this.deps;
    let dispatches = 0;
    let oldest = Infinity;
    for (const frame of frames) {
      if (Buffer.isBuffer(frame)) continue;
      dispatches++;
      if (frame.body.receivedAt > 0 && frame.body.receivedAt < oldest) oldest = frame.body.receivedAt;
    }
    metrics.bytesOut.inc(bytes);
    if (dispatches > 0) metrics.eventsDelivered.inc(dispatches);
    if (oldest !== Infinity) metrics.sessionLag.observe(Math.max(0, Date.now() - oldest) / 1000);
  };

  private closeZombies(): void {
    closeZombies(this.connections, this.config.EDGE_HEARTBEAT_INTERVAL_MS);
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
    for (const session of invalid) {
      this.ctx.sessions.forget(session);
      if (this.persistence) void this.unstore(this.persistence.store, session);
    }
    for (const connection of this.connections) {
      if (connection.sessionId === undefined || !ids.has(connection.sessionId)) continue;
      connection.send(INVALID_SESSION_FRAME);
      setTimeout(() => connection.close(GatewayCloseCodes.SessionTimedOut, 'session invalidated'), INVALIDATED_CLOSE_GRACE_MS).unref();
    }
    return invalid.length;
  }

  /** An invalidated session must not be resumed elsewhere either, unless another node owns it by now. */
  private async unstore(store: SessionStore, session: Session): Promise<void> {
    try {
      const stored = await store.load(session.id);
      if (stored && stored.epoch <= session.epoch) await store.remove(session.id);
    } catch (err) {
      this.ctx.logger.warn({ err, session: session.id }, 'could not remove an invalidated session from the session store');
    }
  }
}

/** op 9 `false`: not resumable, IDENTIFY again. */
const INVALID_SESSION_FRAME = controlFrame(GatewayOpcodes.InvalidSession, false);
const INVALIDATED_CLOSE_GRACE_MS = 5_000;
