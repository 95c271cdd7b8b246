import type { Logger } from '../core/logger.ts';
import { SessionDirectory } from '../core/discord/gateway/session-directory.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { InterestLease } from './interest.ts';
import type { EdgeMetrics } from './metrics.ts';
import { Session, type FeedCursor, type SessionTakeover } from './session.ts';
import type { AccessGrant } from './tokens.ts';

export interface SessionRegistryOptions {
  resumeWindowMs: number;
  replayCapacity: number;
  /** Shared by every session: where the event being dispatched came from. */
  cursor?: FeedCursor;
  /** A session left the registry (after the dispatcher and its partitions let it go). */
  onForget?: (session: Session, reason: 'expired' | 'forgotten') => void;
}

/**
 * The edge's sessions: created on IDENTIFY (or taken over on RESUME) and indexed by the dispatcher
 * until the shared directory forgets them; forgetting one also releases its partitions.
 */
export class SessionRegistry extends SessionDirectory<Session> {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly settings: SessionRegistryOptions,
    metrics: EdgeMetrics,
    private readonly logger: Logger,
  ) {
    super({
      resumeWindowMs: settings.resumeWindowMs,
      onForget: (session, reason) => {
        dispatcher.remove(session);
        session.lease?.release();
        settings.onForget?.(session, reason);
      },
    });
    metrics.sessionSource.countSessions = () => {
      let connected = 0;
      for (const session of this.values()) if (session.attached) connected++;
      return { connected, resumable: this.size - connected };
    };
  }

  /** A session receiving events from now on; `lease` (its partitions) is released when it is forgotten. */
  create(grant: AccessGrant, shard: readonly [number, number], intents: number, lease?: InterestLease, takeover?: SessionTakeover): Session {
    const session = new Session(
      grant,
      shard,
      intents,
      this.settings.replayCapacity,
      (s) => {
        this.logger.debug({ session: s.id }, 'session missed more events than its replay buffer holds; no longer resumable');
        this.forget(s);
      },
      this.settings.cursor,
      takeover,
    );
    session.lease = lease;
    this.add(session);
    this.dispatcher.add(session);
    return session;
  }
}
