import type { Logger } from '../core/logger.ts';
import { GatewayCloseCodes } from '../core/discord/protocol.ts';
import { ProtocolViolation } from '../core/discord/gateway/close-codes.ts';
import type { ResumeRequest } from '../core/discord/gateway/commands.ts';
import type { ConnectionHost, GatewayConnection } from '../core/discord/gateway/connection.ts';
import { frameBody } from '../core/discord/gateway/frames.ts';
import type { Checkpointer } from './checkpointer.ts';
import type { DeliverySource } from './delivery-source.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { GuildCache } from './guild-cache.ts';
import type { SessionInterest } from './interest.ts';
import type { EdgeMetrics } from './metrics.ts';
import { parseIdentify } from './protocol/frames.ts';
import type { KeyedWindows } from '../core/rate-limit/fixed-window.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { SessionStore, StoredSession } from './session-store.ts';
import { takeOver } from './resume-takeover.ts';
import { botUser, grantCovers, TokenError, type AccessGrant, type TokenSigner } from './tokens.ts';

/** With a session store: sessions outlive this process, and RESUME works on any node. */
export interface SessionPersistence {
  readonly store: SessionStore;
  readonly checkpointer: Checkpointer;
  readonly source: DeliverySource;
  /** Takeovers under way (a drain waits for them before its checkpoints). */
  readonly takeovers: Set<Promise<unknown>>;
}

/** What every connection of one edge process shares. */
export interface GatewayContext {
  readonly limits: { maxShards: number };
  /** READY's resume_gateway_url: this process's websocket URL, or the fleet's when any node can resume. */
  readonly publicUrl: () => string;
  readonly tokens: TokenSigner;
  readonly sessions: SessionRegistry;
  readonly dispatcher: Dispatcher;
  readonly guilds: GuildCache;
  /** The partitions this node's sessions need. */
  readonly interest: SessionInterest;
  readonly persistence?: SessionPersistence;
  readonly identifies: KeyedWindows;
  readonly metrics: EdgeMetrics;
  readonly logger: Logger;
}

/** The edge's side of a gateway connection's handshake: guildcast tokens and grants, sessions the dispatcher feeds. */
export class EdgeConnectionHost {
  constructor(private readonly ctx: GatewayContext) {}

  /** The shared connection's host for the connection from `address`, with the edge's bookkeeping `hooks` for attach and close. */
  for(address: string, hooks: Pick<ConnectionHost<Session>, 'attached' | 'closed'>): ConnectionHost<Session> {
    const { ctx } = this;
    return {
      identify: (connection, d) => this.identify(connection, address, d),
      resume: (connection, request) => this.resume(connection, request),
      attached: (connection, session) => {
        ctx.sessions.attached(session);
        hooks.attached?.(connection, session);
      },
      detached: (_connection, session) => {
        ctx.sessions.detached(session);
        // Exact while this node is alive: the client's RESUME elsewhere repeats nothing it saw.
        if (ctx.sessions.has(session)) ctx.persistence?.checkpointer.take(session);
      },
      closing: (connection, code, detail) => {
        ctx.metrics.closes.inc({ code });
        if (code !== GatewayCloseCodes.UnknownError && code !== GatewayCloseCodes.SessionTimedOut)
          ctx.logger.debug({ address, code, detail, session: connection.sessionId }, 'closing connection');
      },
      closed: hooks.closed,
      slowConsumer: (connection) => {
        ctx.metrics.slowConsumerCloses.inc();
        ctx.logger.info({ address, session: connection.sessionId }, 'slow consumer: closing at the buffered-bytes cap');
      },
      failed: (_connection, err) => ctx.logger.error({ err, address }, 'authentication failed unexpectedly'),
    };
  }

  private async authenticate(token: string) {
    try {
      return await this.ctx.tokens.verify(token);
    } catch (err) {
      if (err instanceof TokenError) throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, err.message);
      throw err;
    }
  }

  private async identify(connection: GatewayConnection<Session>, address: string, d: unknown): Promise<void> {
    const { ctx } = this;
    const command = parseIdentify(d, ctx.limits);
    if (!ctx.identifies.take(address)) throw new ProtocolViolation(GatewayCloseCodes.RateLimited, 'identify rate limit');
    const grant = await this.authenticate(command.token);
    if (!connection.authenticating) return;
    // READY only once the session's partitions are read and their guild state loaded: its guilds are complete, and nothing after READY is missed.
    const lease = await ctx.interest.acquire({ grant, shard: command.shard });
    if (!connection.authenticating) return lease.release();
    const session = ctx.sessions.create(grant, command.shard, command.intents, lease);
    connection.attach(session);
    const guildIds = ctx.dispatcher.listedGuilds(session) ?? ctx.guilds.guildsOnShard(command.shard[0], command.shard[1]);
    session.dispatch(
      frameBody('READY', {
        v: 10,
        user: { ...botUser(grant), discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0 },
        guilds: guildIds.map((id) => ({ id, unavailable: true })),
        session_id: session.id,
        resume_gateway_url: ctx.publicUrl(),
        shard: command.shard,
        application: { id: botUser(grant).id, flags: 0 },
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
    // Stored at once (after READY, in the same tick): any node can resume it from here.
    ctx.persistence?.checkpointer.take(session);
    ctx.metrics.identifies.inc();
  }

  private async resume(connection: GatewayConnection<Session>, command: ResumeRequest): Promise<void> {
    const { ctx } = this;
    const grant = await this.authenticate(command.token);
    if (!connection.authenticating) return;
    const persistence = ctx.persistence;
    let local = ctx.sessions.get(command.sessionId);
    if (!persistence) {
      if (!this.resumeLocal(connection, local, grant, command.seq)) this.invalidSession(connection);
      return;
    }

    let stored: StoredSession | undefined;
    try {
      stored = await persistence.store.load(command.sessionId);
    } catch (err) {
      // The store is away: this node can still resume what it holds; anyone else retries (4000).
      if (local) {
        ctx.logger.warn({ err, session: command.sessionId }, 'session store unreadable; resuming from this node');
        if (!this.resumeLocal(connection, local, grant, command.seq)) this.invalidSession(connection);
        return;
      }
      throw err;
    }
    if (!connection.authenticating) return;
    local = ctx.sessions.get(command.sessionId);
    if (local && stored && stored.epoch > local.epoch) {
      // Another node took the session over since: this copy is stale.
      local.current?.terminate();
      ctx.sessions.forget(local);
      local = undefined;
    }
    if (local && (!stored || stored.epoch === local.epoch)) {
      if (this.resumeLocal(connection, local, grant, command.seq)) return;
      // The ring no longer reaches back to the client's seq: the feed may.
      if (!connection.authenticating) return;
      local.current?.terminate();
      ctx.sessions.forget(local);
    }
    if (!stored) return this.invalidSession(connection);
    this.checkGrant(grant, { subject: stored.subject, guilds: stored.guilds === '*' ? '*' : new Set(stored.guilds), expiresAt: grant.expiresAt });

    const takeover = takeOver({ ...persistence, interest: ctx.interest, sessions: ctx.sessions, dispatcher: ctx.dispatcher, metrics: ctx.metrics, logger: ctx.logger }, connection, stored, grant, command.seq);
    persistence.takeovers.add(takeover);
    let result;
    try {
      result = await takeover;
    } finally {
      persistence.takeovers.delete(takeover);
    }
    if (result === 'invalid') return this.invalidSession(connection);
    if (result === 'closed') return;
    ctx.metrics.resumes.inc({ result: 'ok' });
    ctx.metrics.resumePaths.inc({ path: 'replayed' });
  }

  /** RESUME from this node's ring (the session lives here); false when the ring cannot serve it (op 9, or another path). */
  private resumeLocal(connection: GatewayConnection<Session>, session: Session | undefined, grant: AccessGrant, seq: number): boolean {
    const { ctx } = this;
    if (!session || session.invalidated) return false;
    this.checkGrant(grant, session.grant);
    const result = connection.resume(session, seq);
    if (!result.ok) {
      if (result.reason === 'gone') return false;
      ctx.metrics.resumes.inc({ result: 'failed' });
      return true;
    }
    session.dispatch(frameBody('RESUMED', null));
    ctx.metrics.resumes.inc({ result: 'ok' });
    ctx.metrics.resumePaths.inc({ path: 'local' });
    return true;
  }

  /**
   * A session id is not a credential: the token must be the session's identity with at least its
   * grant, else a narrow token could take over a wider session (shard and intents stay the session's).
   */
  private checkGrant(token: AccessGrant, session: AccessGrant): void {
    if (session.subject !== token.subject || !grantCovers(token, session)) {
      this.ctx.metrics.resumes.inc({ result: 'failed' });
      throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, 'token does not carry the grant of the session it resumes');
    }
  }

  /** op 9 `false`: the client has to IDENTIFY again, on this connection or another. */
  private invalidSession(connection: GatewayConnection<Session>): void {
    this.ctx.metrics.resumes.inc({ result: 'failed' });
    connection.invalidSession();
  }
}
