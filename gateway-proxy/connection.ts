import type { WebSocket } from 'ws';
import type { Logger } from '../core/logger.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { GuildCache } from './guild-cache.ts';
import type { EdgeMetrics } from './metrics.ts';
import { CLOSE_REASONS, CloseCode, ProtocolViolation } from './protocol/close-codes.ts';
import { parseClientFrame, type FrameLimits, type Identify, type Resume } from './protocol/frames.ts';
import { Op } from './protocol/opcodes.ts';
import { FixedWindow, type KeyedWindows } from './rate-limit.ts';
import { controlFrame, frameBody, type SequencedFrame } from './serialize.ts';
import type { Session, FrameSink } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import { grantCovers, TokenError, type TokenSigner } from './tokens.ts';
import type { FrameWriter } from './writer.ts';

/** What every connection of one edge process shares. */
export interface GatewayContext {
  readonly limits: FrameLimits & { commandsPerMinute: number; heartbeatIntervalMs: number; identifyTimeoutMs: number };
  /** This process's websocket URL: READY's resume_gateway_url. */
  readonly publicUrl: () => string;
  readonly tokens: TokenSigner;
  readonly sessions: SessionRegistry;
  readonly dispatcher: Dispatcher;
  readonly guilds: GuildCache;
  readonly identifies: KeyedWindows;
  readonly metrics: EdgeMetrics;
  readonly logger: Logger;
  /** A connection got a session (IDENTIFY or RESUME succeeded): it is no longer an eviction candidate. */
  readonly authenticated: (connection: GatewayConnection) => void;
}

const HEARTBEAT_ACK = controlFrame(Op.HeartbeatAck, null);
const RECONNECT = controlFrame(Op.Reconnect, null);
const INVALID_SESSION = controlFrame(Op.InvalidSession, false);

type State = 'connected' | 'authenticating' | 'ready' | 'closed';

/**
 * One websocket speaking gateway v10: HELLO, IDENTIFY or RESUME, heartbeats, and the frames of the
 * session attached to it. Every refusal is a close with Discord's code; nothing a client sends can
 * throw past this class.
 */
export class GatewayConnection implements FrameSink {
  private state: State = 'connected';
  private session: Session | null = null;
  /** Zombie detection: connections that stop heartbeating are closed by the gateway's sweep. */
  lastHeartbeatAt = Date.now();
  private readonly commands: FixedWindow;
  /** Closes 4003 unless a session is attached in time: heartbeating alone does not keep a connection. */
  private identifyDeadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly address: string,
    private readonly writer: FrameWriter,
    private readonly ctx: GatewayContext,
  ) {
    this.commands = new FixedWindow(ctx.limits.commandsPerMinute, 60_000);
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('error', (err) => ctx.logger.debug({ err, address }, 'websocket error'));
    this.writer.push(controlFrame(Op.Hello, { heartbeat_interval: ctx.limits.heartbeatIntervalMs }));
    this.armIdentifyDeadline();
  }

  get authenticated(): boolean {
    return this.state === 'ready';
  }

  private armIdentifyDeadline(): void {
    clearTimeout(this.identifyDeadline);
    this.identifyDeadline = setTimeout(() => {
      if (this.state !== 'ready') this.close(CloseCode.NotAuthenticated, `no IDENTIFY within ${this.ctx.limits.identifyTimeoutMs} ms`);
    }, this.ctx.limits.identifyTimeoutMs);
    this.identifyDeadline.unref();
  }

  get sessionId(): string | undefined {
    return this.session?.id;
  }

  send(frame: SequencedFrame | Buffer): void {
    this.writer.push(frame);
  }

  /** op 7: the process is draining; the client reconnects on its own. */
  reconnect(): void {
    if (this.state !== 'closed') this.writer.push(RECONNECT);
  }

  /** Closes with `code` after what is already queued, and leaves the session resumable. */
  close(code: CloseCode, detail?: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.identifyDeadline);
    this.ctx.metrics.closes.inc({ code });
    if (code !== CloseCode.UnknownError && code !== CloseCode.SessionTimedOut)
      this.ctx.logger.debug({ address: this.address, code, detail, session: this.session?.id }, 'closing connection');
    this.releaseSession();
    this.writer.end(() => this.ws.close(code, CLOSE_REASONS[code]));
  }

  /** The socket is gone (either side closed it, or it broke). */
  closed(): void {
    this.state = 'closed';
    clearTimeout(this.identifyDeadline);
    this.writer.stop();
    this.releaseSession();
  }

  /** Drops the connection without a close frame, as a network failure would. */
  terminate(): void {
    this.closed();
    this.ws.terminate();
  }

  /** The writer found the socket over its byte cap. */
  slowConsumer(): void {
    this.ctx.metrics.slowConsumerCloses.inc();
    this.ctx.logger.info({ address: this.address, session: this.session?.id }, 'slow consumer: closing at the buffered-bytes cap');
    this.close(CloseCode.UnknownError, 'slow consumer');
  }

  private releaseSession(): void {
    const session = this.session;
    if (!session) return;
    this.session = null;
    session.detach(this);
    this.ctx.sessions.detached(session);
  }

  private onMessage(data: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.commands.take()) return this.close(CloseCode.RateLimited, 'too many commands');
    let command;
    try {
      command = parseClientFrame(data, this.ctx.limits);
    } catch (err) {
      if (err instanceof ProtocolViolation) return this.close(err.code, err.message);
      throw err;
    }
    switch (command.op) {
      case Op.Heartbeat:
        this.lastHeartbeatAt = Date.now();
        this.writer.push(HEARTBEAT_ACK);
        return;
      case Op.Identify:
      case Op.Resume:
        if (this.state !== 'connected') return this.close(CloseCode.AlreadyAuthenticated);
        this.state = 'authenticating';
        void (command.op === Op.Identify ? this.identify(command) : this.resume(command)).catch((err: unknown) => {
          this.ctx.logger.error({ err, address: this.address }, 'authentication failed unexpectedly');
          this.close(CloseCode.UnknownError);
        });
        return;
      case 'ignored':
        if (this.state !== 'ready') this.close(CloseCode.NotAuthenticated);
        return;
    }
  }

  private async authenticate(token: string) {
    try {
      return await this.ctx.tokens.verify(token);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      this.close(CloseCode.AuthenticationFailed, err.message);
      return null;
    }
  }

  private async identify(command: Identify): Promise<void> {
    const { ctx } = this;
    if (!ctx.identifies.take(this.address)) return this.close(CloseCode.RateLimited, 'identify rate limit');
    const grant = await this.authenticate(command.token);
    if (!grant || this.state !== 'authenticating') return;
    const session = ctx.sessions.create(grant, command.shard, command.intents);
    this.attach(session);
    const guildIds = ctx.dispatcher.listedGuilds(session) ?? ctx.guilds.guildsOnShard(command.shard[0], command.shard[1]);
    session.dispatch(
      frameBody('READY', {
        v: 10,
        user: { id: grant.subject, username: grant.subject, discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0 },
        guilds: guildIds.map((id) => ({ id, unavailable: true })),
        session_id: session.id,
        resume_gateway_url: ctx.publicUrl(),
        shard: command.shard,
        application: { id: grant.subject, flags: 0 },
        private_channels: [],
        presences: [],
        relationships: [],
        guild_join_requests: [],
        user_settings: {},
      }),
    );
    // Only guilds this node has seen: an unknown one stays unavailable (READY) until its real GUILD_CREATE.
    for (const id of guildIds) {
      const guild = ctx.guilds.createFrame(id);
      if (guild) session.dispatch(guild);
    }
    ctx.metrics.identifies.inc();
  }

  private async resume(command: Resume): Promise<void> {
    const { ctx } = this;
    const grant = await this.authenticate(command.token);
    if (!grant || this.state !== 'authenticating') return;
    const session = ctx.sessions.get(command.sessionId);
    if (!session || session.invalidated) return this.invalidSession();
    // A session id is not a credential: the token must be the session's identity with at least its
    // grant, else a narrow token could take over a wider session (shard and intents stay the session's).
    if (session.grant.subject !== grant.subject || !grantCovers(grant, session.grant)) {
      ctx.metrics.resumes.inc({ result: 'failed' });
      return this.close(CloseCode.AuthenticationFailed, 'token does not carry the grant of the session it resumes');
    }
    if (command.seq > session.sequence) {
      ctx.metrics.resumes.inc({ result: 'failed' });
      return this.close(CloseCode.InvalidSeq, `seq ${command.seq} is beyond ${session.sequence}`);
    }
    const missed = session.framesAfter(command.seq);
    if (!missed) return this.invalidSession();
    this.attach(session);
    for (const frame of missed) this.writer.push(frame);
    session.dispatch(frameBody('RESUMED', null));
    ctx.metrics.resumes.inc({ result: 'ok' });
  }

  /** op 9 `false`: the client has to IDENTIFY again, on this connection or another. */
  private invalidSession(): void {
    this.ctx.metrics.resumes.inc({ result: 'failed' });
    this.state = 'connected';
    this.writer.push(INVALID_SESSION);
    // It may IDENTIFY on this connection now, within a fresh deadline.
    this.armIdentifyDeadline();
  }

  private attach(session: Session): void {
    // A RESUME can arrive before the edge noticed the old connection died: that one is finished.
    session.current?.terminate();
    session.attach(this);
    this.ctx.sessions.attached(session);
    this.session = session;
    this.state = 'ready';
    clearTimeout(this.identifyDeadline);
    this.ctx.authenticated(this);
  }
}
