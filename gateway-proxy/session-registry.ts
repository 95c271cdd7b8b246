import type { Logger } from '../core/logger.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { EdgeMetrics } from './metrics.ts';
import { Session } from './session.ts';
import type { AccessGrant } from './tokens.ts';

export interface SessionRegistryOptions {
  resumeWindowMs: number;
  replayCapacity: number;
}

/** Owns session lifetimes: created on IDENTIFY, kept for the resume window after a disconnect, then forgotten. */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly options: SessionRegistryOptions,
    metrics: EdgeMetrics,
    private readonly logger: Logger,
  ) {
    metrics.sessionSource.countSessions = () => {
      let connected = 0;
      for (const session of this.sessions.values()) if (session.attached) connected++;
      return { connected, resumable: this.sessions.size - connected };
    };
  }

  create(grant: AccessGrant, shard: readonly [number, number], intents: number): Session {
    const session = new Session(grant, shard, intents, this.options.replayCapacity, (s) => {
      this.logger.debug({ session: s.id }, 'session missed more events than its replay buffer holds; no longer resumable');
      this.forget(s);
    });
    this.sessions.set(session.id, session);
    this.dispatcher.add(session);
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Every live session, connected or resumable. */
  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session lost its connection: it may be resumed until the window closes. */
  detached(session: Session): void {
    if (!this.sessions.has(session.id)) return;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = setTimeout(() => this.forget(session), this.options.resumeWindowMs);
    session.expiryTimer.unref();
  }

  attached(session: Session): void {
    clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
  }

  forget(session: Session): void {
    clearTimeout(session.expiryTimer);
    session.invalidated = true;
    if (this.sessions.delete(session.id)) this.dispatcher.remove(session);
  }

  clear(): void {
    for (const session of [...this.sessions.values()]) this.forget(session);
  }
}
