import type { Logger } from '../core/logger.ts';
import { GatewayCloseCodes } from '../core/discord/protocol.ts';
import { ProtocolViolation } from '../core/discord/gateway/close-codes.ts';
import type { ResumeRequest } from '../core/discord/gateway/commands.ts';
import type { ConnectionHost, GatewayConnection } from '../core/discord/gateway/connection.ts';
import { frameBody } from '../core/discord/gateway/frames.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { GuildCache } from './guild-cache.ts';
import type { EdgeMetrics } from './metrics.ts';
import { parseIdentify } from './protocol/frames.ts';
import type { KeyedWindows } from '../core/rate-limit/fixed-window.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import { grantCovers, TokenError, type TokenSigner } from './tokens.ts';

/** What every connection of one edge process shares. */
export interface GatewayContext {
  readonly limits: { maxShards: number };
  /** This process's websocket URL: READY's resume_gateway_url. */
  readonly publicUrl: () => string;
  readonly tokens: TokenSigner;
  readonly sessions: SessionRegistry;
  readonly dispatcher: Dispatcher;
  readonly guilds: GuildCache;
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
      detached: (_connection, session) => ctx.sessions.detached(session),
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
    const session = ctx.sessions.create(grant, command.shard, command.intents);
    connection.attach(session);
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

  private async resume(connection: GatewayConnection<Session>, command: ResumeRequest): Promise<void> {
    const { ctx } = this;
    const grant = await this.authenticate(command.token);
    if (!connection.authenticating) return;
    const session = ctx.sessions.get(command.sessionId);
    if (!session || session.invalidated) return this.invalidSession(connection);
    // A session id is not a credential: the token must be the session's identity with at least its
    // grant, else a narrow token could take over a wider session (shard and intents stay the session's).
    if (session.grant.subject !== grant.subject || !grantCovers(grant, session.grant)) {
      ctx.metrics.resumes.inc({ result: 'failed' });
      throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, 'token does not carry the grant of the session it resumes');
    }
    const result = connection.resume(session, command.seq);
    if (!result.ok) {
      if (result.reason === 'gone') return this.invalidSession(connection);
      ctx.metrics.resumes.inc({ result: 'failed' });
      return;
    }
    session.dispatch(frameBody('RESUMED', null));
    ctx.metrics.resumes.inc({ result: 'ok' });
  }

  /** op 9 `false`: the client has to IDENTIFY again, on this connection or another. */
  private invalidSession(connection: GatewayConnection<Session>): void {
    this.ctx.metrics.resumes.inc({ result: 'failed' });
    connection.invalidSession();
  }
}
