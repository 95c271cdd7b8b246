import type { SessionInfo } from '@discordjs/ws';

/** A shard's durable resume point: everything up to `seq` of `sessionId` is in Kafka. */
export interface Checkpoint {
  shard: number;
  shardCount: number;
  sessionId: string;
  seq: number;
  resumeUrl: string;
}

export type Arrival =
  | { kind: 'next'; sessionId: string; missed: number }
  /** At or below what was already handed over: a replay of something on its way to Kafka. */
  | { kind: 'duplicate' }
  /** Dropped because the buffer is full; the shard must RESUME from its acknowledged seq to get it back. */
  | { kind: 'shed' }
  | { kind: 'no-session' };

export interface SessionHooks {
  /** A READY started a session; `lost` is the one it replaced without a resume (a counted gap). */
  identified(shard: number, sessionId: string, lost: { sessionId: string; seq: number } | undefined): void;
}

interface ShardSession {
  sessionId: string;
  resumeURL: string;
  shardCount: number;
  /** Highest seq handed to the publisher: replays at or below it are already on their way to Kafka. */
  enqueued: number;
  /** Highest seq Kafka acknowledged (with everything before it): where a resume starts. */
  acked: number;
  /** The library forgot the session (it will identify); kept to count the gap. */
  forgotten: boolean;
  /** Dispatches after `enqueued` were dropped; only a replay continuing from `enqueued` is accepted. */
  shedding: boolean;
}

/**
 * The synchronous, in-memory session state @discordjs/ws reads and writes (its session callbacks
 * must not be async, see REFERENCE.md). The library may move its own sequence forward freely; what
 * it gets back from `retrieve` is the last *acknowledged* sequence, so every (re)connect resumes
 * from what Kafka holds and Discord replays the rest. Durable checkpoints are written elsewhere,
 * from acknowledgements only.
 */
export class ShardSessions {
  private readonly sessions = new Map<number, ShardSession>();
  private holds = 0;

  constructor(private readonly hooks: SessionHooks) {}

  /** Seeds sessions from durable checkpoints, so the first connect resumes them. */
  load(checkpoints: Iterable<Checkpoint>): void {
    for (const c of checkpoints)
      this.sessions.set(c.shard, { sessionId: c.sessionId, resumeURL: c.resumeUrl, shardCount: c.shardCount, enqueued: c.seq, acked: c.seq, forgotten: false, shedding: false });
  }

  /**
   * While ingest itself closes the shards (backpressure, shutdown) the library clears their
   * sessions; those sessions are still resumable on Discord's side, so keep them.
   */
  async holdDuring<T>(action: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      return await action();
    } finally {
      this.holds--;
    }
  }

  retrieve = (shardId: number): SessionInfo | null => {
    const s = this.sessions.get(shardId);
    if (!s || s.forgotten) return null;
    return { shardId, shardCount: s.shardCount, sessionId: s.sessionId, resumeURL: s.resumeURL, sequence: s.acked };
  };

  update = (shardId: number, info: SessionInfo | null): void => {
    const current = this.sessions.get(shardId);
    if (info === null) {
      if (current && this.holds === 0) current.forgotten = true;
      return;
    }
    if (current && current.sessionId === info.sessionId) {
      current.forgotten = false;
      current.resumeURL = info.resumeURL;
      return;
    }
    // A session we have not seen: the library identified (READY). Its events start after seq 0.
    this.sessions.set(shardId, { sessionId: info.sessionId, resumeURL: info.resumeURL, shardCount: info.shardCount, enqueued: 0, acked: 0, forgotten: false, shedding: false });
    this.hooks.identified(shardId, info.sessionId, current && { sessionId: current.sessionId, seq: current.enqueued });
  };

  /**
   * Classifies a dispatch by its seq before it is published, and records it as handed over.
   * `canAccept` false (the buffer is full) sheds it: the shard then drops everything until a
   * RESUME replays from where it stopped, so shedding never turns into a gap.
   */
  arrive(shardId: number, seq: number, canAccept = true): Arrival {
    const s = this.sessions.get(shardId);
    if (!s) return { kind: 'no-session' };
    if (seq <= s.enqueued) return { kind: 'duplicate' };
    const continues = seq === s.enqueued + 1;
    if (!canAccept || (s.shedding && !continues)) {
      s.shedding = true;
      return { kind: 'shed' };
    }
    s.shedding = false;
    const missed = seq - s.enqueued - 1;
    s.enqueued = seq;
    return { kind: 'next', sessionId: s.sessionId, missed };
  }

  /** The seq that continues a shard's stream, or undefined before its first READY. */
  nextSeq(shardId: number): number | undefined {
    const s = this.sessions.get(shardId);
    return s && s.enqueued + 1;
  }

  /** A dispatch that is not an event (RESUMED) took `seq`: continue after it without counting a gap. */
  passOver(shardId: number, seq: number): void {
    const s = this.sessions.get(shardId);
    if (s && !s.shedding && seq === s.enqueued + 1) s.enqueued = seq;
  }

  /** Shards that dropped dispatches and need a RESUME to get them replayed. */
  shedding(): number[] {
    return [...this.sessions].filter(([, s]) => s.shedding).map(([shard]) => shard);
  }

  /** Kafka acknowledged everything up to `seq`; returns the checkpoint to persist, if it moved. */
  acknowledge(shardId: number, sessionId: string, seq: number): Checkpoint | undefined {
    const s = this.sessions.get(shardId);
    if (!s || s.sessionId !== sessionId || seq <= s.acked) return undefined;
    s.acked = seq;
    return { shard: shardId, shardCount: s.shardCount, sessionId, seq, resumeUrl: s.resumeURL };
  }

  /** The current checkpoint of every shard, for the final write at shutdown. */
  snapshot(): Checkpoint[] {
    return [...this.sessions].map(([shard, s]) => ({ shard, shardCount: s.shardCount, sessionId: s.sessionId, seq: s.acked, resumeUrl: s.resumeURL }));
  }
}
