import { GatewaySession } from '../../core/discord/gateway/session.ts';
import { SessionDirectory } from '../../core/discord/gateway/session-directory.ts';

/** A simulated Discord session: the shared gateway session, on one shard. */
export class SimSession extends GatewaySession {
  constructor(
    readonly shard: number,
    replayCapacity: number,
  ) {
    super({ replayCapacity });
  }
}

export interface ShardSessionsOptions {
  resumeWindowMs: number;
  replayBufferSize: number;
  onExpired?: (session: SimSession) => void;
}

/**
 * The simulated world's sessions: the shared directory (resume window) plus the current session
 * per shard, the one its traffic goes to. A shard's older sessions stay resumable but get nothing new.
 */
export class ShardSessions {
  private readonly directory: SessionDirectory<SimSession>;
  private readonly currentByShard = new Map<number, SimSession>();
  private live: number[] = [];

  constructor(private readonly options: ShardSessionsOptions) {
    this.directory = new SessionDirectory<SimSession>({
      resumeWindowMs: options.resumeWindowMs,
      onForget: (session, reason) => {
        if (this.currentByShard.get(session.shard) === session) {
          this.currentByShard.delete(session.shard);
          this.refreshLive();
        }
        if (reason === 'expired') options.onExpired?.(session);
      },
    });
  }

  /** A new session for `shard`; the shard's previous session gets no further traffic. */
  create(shard: number): SimSession {
    const session = new SimSession(shard, this.options.replayBufferSize);
    this.directory.add(session);
    this.currentByShard.set(shard, session);
    this.refreshLive();
    return session;
  }

  get(id: string): SimSession | undefined {
    return this.directory.get(id);
  }

  current(shard: number): SimSession | undefined {
    return this.currentByShard.get(shard);
  }

  currentSessions(): SimSession[] {
    return [...this.currentByShard.values()];
  }

  /** Shards that have a session (connected or resumable), in ascending order. */
  liveShards(): readonly number[] {
    return this.live;
  }

  attached(session: SimSession): void {
    this.directory.attached(session);
  }

  /** The connection went away: the session stays resumable for the resume window. */
  detached(session: SimSession): void {
    this.directory.detached(session);
  }

  remove(session: SimSession): void {
    this.directory.forget(session);
  }

  clear(): void {
    this.directory.clear();
  }

  private refreshLive(): void {
    this.live = [...this.currentByShard.keys()].sort((a, b) => a - b);
  }
}
