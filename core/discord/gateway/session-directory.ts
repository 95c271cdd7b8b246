import type { GatewaySession } from './session.ts';

export interface SessionDirectoryOptions<S> {
  /** How long a session without a connection stays resumable. */
  resumeWindowMs: number;
  /** A session left the directory: its window passed ('expired') or it was forgotten. */
  onForget?: (session: S, reason: 'expired' | 'forgotten') => void;
}

/** Sessions by id: kept for the resume window after their connection goes away, then forgotten. */
export class SessionDirectory<S extends GatewaySession> {
  private readonly sessions = new Map<string, S>();

  constructor(private readonly options: SessionDirectoryOptions<S>) {}

  add(session: S): void {
    this.sessions.set(session.id, session);
  }

  get(id: string): S | undefined {
    return this.sessions.get(id);
  }

  has(session: S): boolean {
    return this.sessions.get(session.id) === session;
  }

  /** Every live session, connected or resumable. */
  values(): IterableIterator<S> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session lost its connection: it may be resumed until the window closes. */
  detached(session: S): void {
    if (!this.has(session)) return;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = setTimeout(() => this.forget(session, 'expired'), this.options.resumeWindowMs);
    session.expiryTimer.unref();
  }

  attached(session: S): void {
    clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
  }

  forget(session: S, reason: 'expired' | 'forgotten' = 'forgotten'): void {
    clearTimeout(session.expiryTimer);
    session.invalidated = true;
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.options.onForget?.(session, reason);
  }

  clear(): void {
    for (const session of [...this.sessions.values()]) this.forget(session);
  }
}
