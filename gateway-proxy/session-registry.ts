import type { Logger } from '../core/logger.ts';
import { SessionDirectory } from '../core/discord/gateway/session-directory.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { EdgeMetrics } from './metrics.ts';
import { Session } from './session.ts';
import type { AccessGrant } from './tokens.ts';

export interface SessionRegistryOptions {
  resumeWindowMs: number;
  replayCapacity: number;
}

/** The edge's sessions: created on IDENTIFY and indexed by the dispatcher until the shared directory forgets them. */
export class SessionRegistry extends SessionDirectory<Session> {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly settings: SessionRegistryOptions,
    metrics: EdgeMetrics,
    private readonly logger: Logger,
  ) {
    super({ resumeWindowMs: settings.resumeWindowMs, onForget: (session) => dispatcher.remove(session) });
    metrics.sessionSource.countSessions = () => {
      let connected = 0;
      for (const session of this.values()) if (session.attached) connected++;
      return { connected, resumable: this.size - connected };
    };
  }

  create(grant: AccessGrant, shard: readonly [number, number], intents: number): Session {
    const session = new Session(grant, shard, intents, this.settings.replayCapacity, (s) => {
      this.logger.debug({ session: s.id }, 'session missed more events than its replay buffer holds; no longer resumable');
      this.forget(s);
    });
    this.add(session);
    this.dispatcher.add(session);
    return session;
  }
}
