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
  writtenAt: number;
  /** The session's next turn for a periodic checkpoint (its own phase; then every `intervalMs`). */
  checkpointDueAt: number;
  /** The session's next turn to see whether its row needs a TTL refresh (same phase, every refresh period). */
  refreshDueAt: number;
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
 * are logged and counted; the session is written again on its next turn.
 *
 * Periodic checkpoints and TTL refreshes are spread over the interval rather than written all in
 * one round: a node's sessions usually connect together, and checkpointing them in the same
 * event-loop turn stalls the edge (one encode each) and hits the store with a spike of writes.
 * Rounds run ten times per interval and each session gets its own phase when first tracked (a
 * low-discrepancy sequence, so sessions tracked together land on different rounds); a session is
 * looked at only on its turns, one interval apart, so each round writes about
 * sessions / rounds-per-interval rows. Exact checkpoints (detach, drain, takeover) are not delayed.
 */
export class Checkpointer {
  private readonly tracks = new WeakMap<Session, Track>();
  private readonly timer: NodeJS.Timeout;
  private readonly waiting: Session[] = [];
  private active = 0;
  private readonly concurrency: number;
  /** How often a session's row is looked at for a TTL refresh: at most a quarter of the window. */
  private readonly refreshPeriodMs: number;
  /** A row older than this at a session's refresh turn is rewritten, so no row goes longer than half the window. */
  private readonly refreshAgeMs: number;
  /** Sessions tracked so far: the index of the next one's phase. */
  private phases = 0;
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
    this.refreshPeriodMs = Math.max(1, Math.min(options.intervalMs, Math.floor(options.resumeWindowMs / 4)));
    // Ten rounds per turn spread the writes; below 10 ms the timer costs more than the bursts.
    const tick = Math.max(10, Math.floor(this.refreshPeriodMs / 10));
    // A refresh turn is served up to a tick late and the next one is a period later.
    this.refreshAgeMs = options.resumeWindowMs / 2 - this.refreshPeriodMs - tick;
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
    this.track(session).seq = checkpoint.seq;
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
    if (!track) {
      const now = Date.now();
      const phase = this.nextPhase();
      track = {
        seq: -1,
        writtenAt: 0,
        checkpointDueAt: now + phase * this.options.intervalMs,
        refreshDueAt: now + phase * this.refreshPeriodMs,
        writing: undefined,
        dirty: false,
        queued: false,
      };
      this.tracks.set(session, track);
    }
    return track;
  }

  /**
   * A phase in [0, 1): the fractional parts of k·φ, which keep any run of consecutively tracked
   * sessions (a node's sessions connecting together) about evenly spread, unlike random phases.
   */
  private nextPhase(): number {
    return (this.phases++ * GOLDEN_RATIO_CONJUGATE) % 1;
  }

  private round(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const session of this.sessions()) {
      if (!session.attached || session.catchingUp) continue;
      const track = this.track(session);
      const checkpointTurn = now >= track.checkpointDueAt;
      const refreshTurn = now >= track.refreshDueAt;
      if (checkpointTurn) track.checkpointDueAt = nextTurn(track.checkpointDueAt, this.options.intervalMs, now);
      if (refreshTurn) track.refreshDueAt = nextTurn(track.refreshDueAt, this.refreshPeriodMs, now);
      if (checkpointTurn && session.sequence !== track.seq && this.take(session)) continue;
      if (refreshTurn && now - track.writtenAt >= this.refreshAgeMs && !track.writing) this.write(session);
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
            this.logger.warn({ err, session: session.id }, 'could not write a session checkpoint; retried on its next turn');
            // The session's next turn writes it again (seq differs from what is stored, or the refresh is due).
            track.writtenAt = 0;
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

const GOLDEN_RATIO_CONJUGATE = (Math.sqrt(5) - 1) / 2;

/** The first turn after `now` on the schedule `due + k·period`, so a session keeps its phase across skipped turns. */
function nextTurn(due: number, periodMs: number, now: number): number {
  return due + (Math.floor((now - due) / periodMs) + 1) * periodMs;
}
