import type { Logger } from '../core/logger.ts';
import { MAX_STORED_CHECKPOINTS } from '../store/index.ts';
import type { DeliverySource, FeedPosition } from './delivery-source.ts';
import type { EdgeMetrics } from './metrics.ts';
import type { Session } from './session.ts';
import type { SessionCheckpoint, SessionStore, StoredSession } from './session-store.ts';

export interface CheckpointerOptions {
  nodeId: string;
  /** How often attached sessions whose seq moved are checkpointed. */
  intervalMs: number;
  /** The rows' TTL; an attached session's row is rewritten at least every half of it. */
  resumeWindowMs: number;
  /** Writes in flight at once. */
  concurrency?: number;
}

interface Track {
  /** seq of the newest checkpoint taken. */
  seq: number;
  takenAt: number;
  writtenAt: number;
  writing: Promise<void> | undefined;
  /** A newer state than the one being written waits. */
  dirty: boolean;
  /** In `waiting`. */
  queued: boolean;
}

/** The session's state as the store keeps it, with `node` as owner. */
export function storedState(session: Session, node: string): StoredSession {
  return {
    id: session.id,
    epoch: session.epoch,
    node,
    subject: session.grant.subject,
    guilds: session.grant.guilds === '*' ? '*' : [...session.grant.guilds],
    shard: [session.shard[0], session.shard[1]],
    intents: session.intents,
    checkpoints: session.checkpoints,
  };
}

/**
 * Writes the sessions of this node to the session store, so another node can take them over on
 * RESUME: a checkpoint `{seq, positions}` is taken synchronously between two events (every record
 * before the feed's positions was dispatched to or filtered for the session, and `seq` is its
 * sequence at that instant), every `intervalMs` for attached sessions whose seq moved, exactly on
 * detach, and for every session on drain. Writes per session are one at a time (the newest state
 * waits, older ones are skipped), so a slow write never lets an older state land last. Failures
 * are logged and counted; the session is written again on the next round.
 */
export class Checkpointer {
  private readonly tracks = new WeakMap<Session, Track>();
  private readonly timer: NodeJS.Timeout;
  private readonly waiting: Session[] = [];
  private active = 0;
  private readonly concurrency: number;
  private stopped = false;
  private closed = false;
  /** Drained: the feed's positions no longer say what sessions were sent, so no checkpoint can be taken. */
  private frozen = false;

  constructor(
    private readonly store: SessionStore,
    private readonly source: Pick<DeliverySource, 'positions'>,
    private readonly sessions: () => Iterable<Session>,
    private readonly options: CheckpointerOptions,
    private readonly metrics: EdgeMetrics,
    private readonly logger: Logger,
  ) {
    this.concurrency = options.concurrency ?? 16;
    const tick = Math.max(10, Math.min(options.intervalMs, Math.floor(options.resumeWindowMs / 4)));
    this.timer = setInterval(() => this.round(), tick);
    this.timer.unref();
  }

  /**
   * A checkpoint of `session` now; false while it cannot be taken (catching up on a takeover, a
   * partition not read). Appended to its stored checkpoints (at most MAX_STORED_CHECKPOINTS).
   */
  take(session: Session): boolean {
    if (this.closed || this.frozen || session.catchingUp || session.invalidated) return false;
    const partitions = session.lease?.partitions ?? [];
    const live = this.source.positions(partitions);
    const positions = new Map<number, FeedPosition>();
    for (const partition of partitions) {
      const position = live.get(partition);
      if (!position) return false;
      positions.set(partition, session.positionOn(partition, position));
    }
    this.record(session, { seq: session.sequence, positions });
    return true;
  }

  /** Sets `checkpoint` as the session's newest and writes the session. */
  record(session: Session, checkpoint: SessionCheckpoint): void {
    const kept = session.checkpoints.filter((c) => c.seq < checkpoint.seq);
    session.checkpoints = [...kept, checkpoint].slice(-MAX_STORED_CHECKPOINTS);
    const track = this.track(session);
    track.seq = checkpoint.seq;
    track.takenAt = Date.now();
    this.write(session);
  }

  /** Writes the session's state as it is (a new epoch, a TTL refresh). */
  write(session: Session): void {
    if (this.closed) return;
    const track = this.track(session);
    track.dirty = true;
    if (track.writing || track.queued) return;
    track.queued = true;
    this.waiting.push(session);
    this.pump();
  }

  /** Resolves once no write of `session` is waiting or in flight. */
  async flushed(session: Session): Promise<void> {
    for (let track = this.tracks.get(session); track && (track.writing || track.queued); track = this.tracks.get(session)) {
      await (track.writing ?? new Promise((r) => setImmediate(r)));
    }
  }

  /** Drain: an exact checkpoint of every session, taken in one synchronous step (call it right as the feed is held), all written. */
  async checkpointAll(): Promise<number> {
    const all = [...this.sessions()];
    let taken = 0;
    for (const session of all) if (this.take(session)) taken++;
    this.frozen = true;
    await Promise.all(all.map((session) => this.flushed(session)));
    return taken;
  }

  /** No more periodic rounds (writes already asked for still run). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** The process is closing (or, in tests, crashing), or drained: nothing more is taken or written. */
  close(): void {
    this.stop();
    this.closed = true;
    for (const session of this.waiting.splice(0)) this.track(session).queued = false;
  }

  private track(session: Session): Track {
    let track = this.tracks.get(session);
    if (!track) this.tracks.set(session, (track = { seq: -1, takenAt: 0, writtenAt: 0, writing: undefined, dirty: false, queued: false }));
    return track;
  }

  private round(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const session of this.sessions()) {
      if (!session.attached || session.catchingUp) continue;
      const track = this.track(session);
      if (session.sequence !== track.seq && now - track.takenAt >= this.options.intervalMs) this.take(session);
      else if (now - track.writtenAt >= this.options.resumeWindowMs / 2 - this.options.intervalMs && !track.writing) this.write(session);
    }
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const session = this.waiting.shift()!;
      const track = this.track(session);
      track.queued = false;
      if (session.invalidated) {
        track.dirty = false;
        continue;
      }
      track.dirty = false;
      this.active++;
      const state = storedState(session, this.options.nodeId);
      track.writing = this.store
        .save(state, this.options.resumeWindowMs)
        .then(
          () => {
            track.writtenAt = Date.now();
            this.metrics.checkpointWrites.inc({ result: 'ok' });
          },
          (err: unknown) => {
            this.metrics.checkpointWrites.inc({ result: 'failed' });
            this.logger.warn({ err, session: session.id }, 'could not write a session checkpoint; retried on the next round');
            // The next round writes it again (seq differs from what is stored, or the refresh is due).
            track.writtenAt = 0;
            track.takenAt = 0;
            track.seq = -1;
          },
        )
        .finally(() => {
          track.writing = undefined;
          this.active--;
          if (track.dirty && !session.invalidated && !this.closed) {
            track.queued = true;
            this.waiting.push(session);
          }
          this.pump();
        });
    }
  }
}
