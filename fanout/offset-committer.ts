import type { CommitOffset } from '../core/kafka/types.ts';
import type { Logger } from '../core/logger.ts';

/** Sends one commit request (a batch's `commit`: it fails once the group moved to another generation). */
export type CommitRequest = (offsets: CommitOffset[]) => Promise<void>;

export interface OffsetCommitterOptions {
  /** Commits are at least this far apart; 0 sends as soon as the previous request returned. */
  intervalMs: number;
  logger: Logger;
  /** A commit request returned (metrics); `error` when it failed. */
  onCommit?(partitions: number, error?: Error): void;
}

/**
 * Takes the persist consumer's commits off its hot path. A finished chunk only records its
 * partition's next offset and replay filter (`mark`); one request, at most every `intervalMs`,
 * carries the newest mark of every partition, and one request is in flight at a time, so a
 * partition's committed offset only moves forward. A chunk no longer waits on a commit round trip
 * before the next fetch, and the broker gets one OffsetCommit per interval instead of one per
 * chunk per partition.
 *
 * What is marked but not committed yet is at most one interval of work: after a crash or a lost
 * commit the next owner redoes it from the last committed offset and filter, which always go
 * together, and the repeats are what at-least-once already allows (idempotent store writes, the
 * edge dropping redeliveries by source offset). A failed request keeps its marks for the next one
 * unless newer marks replaced them; `forget` drops marks of partitions that changed hands.
 */
export class OffsetCommitter {
  private readonly pending = new Map<string, CommitOffset>();
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSentAt = -Infinity;
  private closed = false;
  private via: CommitRequest | undefined;
  private failing = false;
  /** Moves on each `forget`: a request of the former assignment that fails gives its marks back only if it has not. */
  private assignment = 0;

  constructor(private readonly options: OffsetCommitterOptions) {}

  /** The work up to `offset.offset` (exclusive) is done: commit it with the next request, sent `via` the newest batch's commit. */
  mark(offset: CommitOffset, via: CommitRequest): void {
    if (this.closed) return;
    this.via = via;
    this.pending.set(key(offset.topic, offset.partition), offset);
    this.schedule();
  }

  /** Marks not committed yet. */
  get uncommitted(): number {
    return this.pending.size;
  }

  /** Drops every mark: the group's assignment changed, and what is committed from now on is the new owner's. */
  forget(): void {
    this.pending.clear();
    this.assignment++;
  }

  /** Commits every mark now (after the request in flight) and resolves when it returned; throws its error. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight) await this.inFlight.catch(() => {});
    if (this.pending.size === 0) return;
    const error = await this.send();
    this.schedule();
    if (error) throw error;
  }

  /** No more commits; marks not sent are dropped (the next owner redoes their work). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private schedule(): void {
    if (this.timer || this.inFlight || this.pending.size === 0 || this.closed) return;
    // A failing coordinator is asked again at most once a second, not once per interval.
    const interval = this.failing ? Math.max(1000, this.options.intervalMs) : this.options.intervalMs;
    const wait = Math.max(0, this.lastSentAt + interval - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send().then(() => this.schedule());
    }, wait);
  }

  /** One request with every mark; resolves to its error, if any (failed marks stay, unless replaced meanwhile). */
  private async send(): Promise<Error | undefined> {
    const offsets = [...this.pending.values()];
    const assignment = this.assignment;
    this.pending.clear();
    this.lastSentAt = performance.now();
    let error: Error | undefined;
    const request = this.via!(offsets).then(
      () => undefined,
      (err: unknown) => {
        error = err as Error;
        for (const o of offsets) {
          const k = key(o.topic, o.partition);
          if (!this.pending.has(k) && !this.closed && assignment === this.assignment) this.pending.set(k, o);
        }
      },
    );
    this.inFlight = request;
    await request;
    this.inFlight = undefined;
    this.failing = error !== undefined;
    this.options.onCommit?.(offsets.length, error);
    if (error) this.options.logger.warn({ err: error.message, partitions: offsets.length }, 'offset commit failed; the marks are sent again with the next one');
    return error;
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
