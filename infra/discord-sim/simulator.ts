import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { GatewayCloseCodes, GatewayOpcodes } from '../../core/discord/protocol.ts';
import { ProtocolViolation } from '../../core/discord/gateway/close-codes.ts';
import { GatewayConnection, type ConnectionHost, type ConnectionOptions } from '../../core/discord/gateway/connection.ts';
import { frameBody } from '../../core/discord/gateway/frames.ts';
import { createFrameWriter, FlushScheduler, isTransportCompression, type WriterOptions } from '../../core/discord/gateway/writer.ts';
import { WsTransport } from '../../core/discord/gateway/ws-transport.ts';
import { shardFor } from '../../core/events/partition.ts';
import { parseSnowflake, SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import { applyFault } from './faults.ts';
import { restHandler } from './http-routes.ts';
import { RestLimits } from './rest-limits.ts';
import { MessageRoutes } from './rest-messages.ts';
import type { Fault, GatewaySimulator, SentDispatch, SimulatorOptions, SimulatorStats, TrafficOptions } from './index.ts';
import { SentLedger } from './ledger.ts';
import { resolveOptions } from './options.ts';
import { botUserPayload, guildCreatePayload, MessageFactory, readyPayload } from './payloads.ts';
import { seededRandom } from './random.ts';
import { identifiedShard } from './identify.ts';
import { ShardSessions, type SimSession } from './shard-sessions.ts';
import { TrafficGenerator } from './traffic-generator.ts';
import { TrafficPump } from './traffic-pump.ts';
import { scheduleFor } from './traffic-schedule.ts';
import { buildWorld } from './world.ts';

/** The only gateway version spoken, and the largest frame a client may send (ws closes above it with 1009). */
const GATEWAY_VERSION = '10';
const MAX_FRAME_BYTES = 64 * 1024;
/** Discord closes a connection whose client sends a payload larger than this (4002). */
const MAX_CLIENT_PAYLOAD_BYTES = 4096;
/** Commands a client may send once identified; the simulator accepts and ignores them. */
const ACCEPTED_COMMANDS: ReadonlySet<number> = new Set([
  GatewayOpcodes.PresenceUpdate,
  GatewayOpcodes.VoiceStateUpdate,
  GatewayOpcodes.RequestGuildMembers,
  GatewayOpcodes.RequestSoundboardSounds,
]);
/** A traffic run's ledger also keeps room for this many handshakes (READY + GUILD_CREATEs) per shard. */
const HANDSHAKES_PER_RUN = 16;

export async function startGatewaySimulator(options: SimulatorOptions): Promise<GatewaySimulator> {
  const config = resolveOptions(options);
  const logger = config.logger.child({ component: 'gateway-sim' });
  const world = buildWorld({ shardCount: config.shardCount, guilds: config.guilds, channelsPerGuild: config.channelsPerGuild, random: seededRandom(config.seed) });
  const ids = new SnowflakeGenerator({ workerId: 1 });
  const messages = new MessageFactory(ids);
  const ledger = new SentLedger(config.ledgerLimit);
  const counters = { identifies: 0, resumes: 0, invalidSessions: 0, replayed: 0 };
  const sessions = new ShardSessions({
    resumeWindowMs: config.resumeWindowMs,
    replayBufferSize: config.replayBufferSize,
    onExpired: (s) => logger.info({ shard: s.shard, sessionId: s.id }, 'session expired: resume window passed'),
  });
  /** Open connections and their ids (for the logs). */
  const connections = new Map<GatewayConnection<SimSession>, number>();
  const compressedConnections = new Set<GatewayConnection<SimSession>>();
  const scheduler = new FlushScheduler();
  let trafficRuns = 0;
  let pump: TrafficPump | undefined;
  let nextConnectionId = 1;

  // Handlers go on before listening; the URLs they answer with are known once the port is.
  let gatewayUrl = '';
  const limits = new RestLimits(config.rest);
  const messageRoutes = new MessageRoutes({
    world,
    ids,
    limits,
    emit(t, d, guild) {
      const session = sessions.current(guild.shard);
      const channelId = typeof d.channel_id === 'string' ? d.channel_id : undefined;
      if (session) record(session, t, d, guild.id, channelId);
    },
  });
  const server = createServer(restHandler({ url: () => gatewayUrl, shards: config.shardCount, token: config.token, identifies: () => counters.identifies, messages: messageRoutes, botUser: () => botUserPayload(world) }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, url.searchParams));
  });
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  gatewayUrl = `ws://${host}:${port}`;
  const apiBase = `http://${host}:${port}/api`;

  function record(session: SimSession, t: string, d: unknown, guildId?: string, channelId?: string, malformed?: true): SentDispatch {
    const seq = session.dispatch(frameBody(t, d));
    const entry: SentDispatch = { shard: session.shard, sessionId: session.id, seq, t, d, sentAt: Date.now() };
    if (guildId !== undefined) entry.guildId = guildId;
    if (channelId !== undefined) entry.channelId = channelId;
    if (malformed) entry.malformed = malformed;
    ledger.add(entry);
    return entry;
  }

  const hooks: ConnectionHost<SimSession> = {
    identify(connection, d) {
      const shard = identifiedShard(d, config);
      counters.identifies++;
      const session = sessions.create(shard);
      connection.attach(session);
      logger.info({ shard, sessionId: session.id, connection: connections.get(connection) }, 'identified');
      record(session, 'READY', readyPayload(world, shard, session.id, gatewayUrl));
      for (const guild of world.guildsByShard[shard]!) record(session, 'GUILD_CREATE', guildCreatePayload(guild), guild.id);
    },
    resume(connection, { token, sessionId, seq }) {
      if (token !== config.token) throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, 'authentication failed');
      const session = sessions.get(sessionId);
      const result = session ? connection.resume(session, seq) : ({ ok: false, reason: 'gone' } as const);
      if (result.ok) {
        // Discord's RESUMED repeats the last seq instead of taking one.
        connection.send(Buffer.from(JSON.stringify({ t: 'RESUMED', s: session!.sequence, op: GatewayOpcodes.Dispatch, d: { _trace: ['["guildcast-gateway-sim",{"micros":0}]'] } })));
        counters.resumes++;
        counters.replayed += result.replayed;
        logger.info({ shard: session!.shard, sessionId, seq, replayed: result.replayed, connection: connections.get(connection) }, 'resumed');
        return;
      }
      if (result.reason === 'invalid-seq') return;
      if (session) sessions.remove(session);
      counters.invalidSessions++;
      logger.info({ sessionId, seq, connection: connections.get(connection) }, session ? 'resume too old for the replay buffer' : 'resume of an unknown or expired session');
      connection.invalidSession();
    },
    attached: (_connection, session) => sessions.attached(session),
    detached: (_connection, session) => sessions.detached(session),
    closing: (connection, code, detail) => logger.debug({ connection: connections.get(connection), code, detail }, 'closing connection'),
    closed(connection) {
      logger.debug({ connection: connections.get(connection) }, 'connection closed');
      connections.delete(connection);
      compressedConnections.delete(connection);
    },
    failed: (connection, err) => logger.error({ err, connection: connections.get(connection) }, 'handshake failed unexpectedly'),
  };

  const connectionOptions: ConnectionOptions = { heartbeatIntervalMs: config.heartbeatIntervalMs, maxPayloadBytes: MAX_CLIENT_PAYLOAD_BYTES, ignoredCommands: ACCEPTED_COMMANDS };
  // No slow-consumer cap: a test or bench client that reads slowly should see everything, late.
  const writerOptions: WriterOptions = { scheduler, maxBufferedBytes: Infinity, onSlowConsumer: () => {} };

  function accept(ws: WebSocket, params: URLSearchParams): void {
    const version = params.get('v');
    if (version !== GATEWAY_VERSION) return ws.close(GatewayCloseCodes.InvalidAPIVersion, `only v=${GATEWAY_VERSION} is supported, got ${version ?? 'none'}`);
    const encoding = params.get('encoding') ?? 'json';
    if (encoding !== 'json') return ws.close(GatewayCloseCodes.DecodeError, `only encoding=json is supported, got ${encoding}`);
    const asked = params.get('compress');
    const compression = config.compress && asked !== null && isTransportCompression(asked) ? asked : null;
    const compressed = compression !== null;
    const id = nextConnectionId++;
    const transport = new WsTransport(ws, (err) => logger.debug({ connection: id, err }, 'socket error'));
    const writer = createFrameWriter(compression, transport, writerOptions);
    const connection = new GatewayConnection<SimSession>(transport, writer, connectionOptions, hooks);
    connections.set(connection, id);
    if (compressed) compressedConnections.add(connection);
    logger.debug({ connection: id, compressed }, 'connection opened');
  }

  function connectionOf(session: SimSession): GatewayConnection<SimSession> | undefined {
    const sink = session.current;
    return sink instanceof GatewayConnection ? (sink as GatewayConnection<SimSession>) : undefined;
  }

  function invalidate(session: SimSession): void {
    sessions.remove(session);
    const connection = connectionOf(session);
    if (!connection) return;
    counters.invalidSessions++;
    connection.invalidSession();
  }

  const simulator: GatewaySimulator = {
    apiBase,
    gatewayUrl,
    token: config.token,
    guildIds: world.guilds.map((g) => g.id),
    channels: new Map(world.guilds.map((g) => [g.id, g.channels.map((c) => c.id)])),

    startTraffic(traffic: TrafficOptions) {
      if (pump?.running) throw new Error('traffic is already running: call stopTraffic() first');
      const schedule = scheduleFor(traffic.shape ?? 'steady', traffic.ratePerSecond);
      const generator = new TrafficGenerator({
        world,
        random: seededRandom((config.seed + ++trafficRuns) >>> 0),
        ids,
        ...(traffic.contentBytes && { contentBytes: traffic.contentBytes }),
        ...(traffic.mix && { mix: traffic.mix }),
      });
      const run = new TrafficPump({
        schedule,
        ...(traffic.total !== undefined && { total: traffic.total }),
        emit: () => {
          const event = generator.next(sessions.liveShards());
          if (!event) return false;
          record(sessions.current(event.guild.shard)!, event.t, event.d, event.guild.id, event.channelId);
          return true;
        },
      });
      if (traffic.total !== undefined) ledger.reserve(traffic.total + HANDSHAKES_PER_RUN * (world.guilds.length + config.shardCount));
      pump = run;
      run.start();
      logger.info({ rate: traffic.ratePerSecond, shape: traffic.shape ?? 'steady', total: traffic.total }, 'traffic started');
    },

    async stopTraffic() {
      pump?.stop();
    },

    trafficDone() {
      return pump?.done ?? Promise.resolve();
    },

    dispatch(t, d, guildId) {
      if (typeof t !== 'string' || t.length === 0) throw new TypeError('dispatch needs an event name');
      let shard = 0;
      if (guildId !== undefined) {
        const id = parseSnowflake(guildId);
        if (id === undefined) throw new RangeError(`guild id ${JSON.stringify(guildId)} is not a decimal snowflake`);
        shard = shardFor(id, config.shardCount);
      }
      const session = sessions.current(shard);
      if (!session) throw new Error(`shard ${shard} has no session: no client identified on it, or its session was invalidated or expired`);
      return record(session, t, d, guildId, typeof d.channel_id === 'string' ? d.channel_id : undefined);
    },

    get sent() {
      return ledger.list();
    },

    inject(fault: Fault, shard?: number) {
      if (shard !== undefined && (!Number.isInteger(shard) || shard < 0 || shard >= config.shardCount)) {
        throw new RangeError(`shard must be 0..${config.shardCount - 1}, got ${shard}`);
      }
      const targets = shard === undefined ? sessions.currentSessions() : [sessions.current(shard)];
      for (const session of targets) {
        if (!session) throw new Error(`shard ${shard} has no session to inject ${fault} into`);
        logger.info({ fault, shard: session.shard, sessionId: session.id }, 'injecting fault');
        applyFault(fault, {
          session,
          connection: connectionOf(session),
          invalidate: () => invalidate(session),
          dispatchMalformed: () => {
            const guild = world.guildsByShard[session.shard]![0];
            record(session, 'MESSAGE_CREATE', messages.malformed(guild?.id, guild?.members[0] ?? world.bot), guild?.id, undefined, true);
          },
        });
      }
    },

    stats(): SimulatorStats {
      return { ...counters, connections: connections.size, compressedConnections: compressedConnections.size };
    },

    restStats: () => limits.stats(),

    forceRateLimit(mode) {
      limits.force(mode);
      logger.info(mode, 'forcing REST 429s');
    },

    async close() {
      pump?.stop();
      sessions.clear();
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('gateway simulator closed');
    },
  };

  logger.info({ apiBase, gatewayUrl, shards: config.shardCount, guilds: world.guilds.length, seed: config.seed }, 'gateway simulator listening');
  return simulator;
}
