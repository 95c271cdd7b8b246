import type { EventEnvelope } from '../core/events/envelope.ts';
import type { FeedOrigin, FeedPosition } from './delivery-source.ts';

/** Throws a RangeError unless every one of `partitions` is a partition of a feed of `count`. */
export function checkFeedPartitions(partitions: readonly number[], count: number): void {
  for (const partition of partitions) {
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) throw new RangeError(`no partition ${partition} in a feed of ${count}`);
  }
}

/** Throws a RangeError unless `[from.offset, to)` is a range `replay` can serve on `partition`. */
export function checkReplayRange(partition: number, from: FeedPosition, to: bigint, count: number): void {
  checkFeedPartitions([partition], count);
  if (typeof from?.offset !== 'bigint' || typeof from.passed !== 'bigint' || typeof to !== 'bigint') throw new RangeError('replay positions must be bigints');
  if (from.offset < 0n || from.passed < -1n) throw new RangeError(`invalid replay start ${from.offset} (passed ${from.passed})`);
  if (to < from.offset) throw new RangeError(`replay end ${to} is before its start ${from.offset}`);
}

/**
 * How many callers want each partition of the feed (`want`/`release` of a DeliverySource). A
 * partition listed twice in one call counts once. Checks a whole call before changing anything, so
 * a bad partition number leaves the counts as they were.
 */
export class Interest {
  private readonly counts: number[];

  constructor(readonly partitions: number) {
    this.counts = new Array<number>(partitions).fill(0);
  }

  /** Counts `partitions` once more; returns those nobody wanted before. */
  want(partitions: readonly number[]): number[] {
    checkFeedPartitions(partitions, this.partitions);
    const fresh: number[] = [];
    for (const partition of new Set(partitions)) if (this.counts[partition]!++ === 0) fresh.push(partition);
    return fresh;
  }

  /** Counts `partitions` once less; returns those nobody wants any more. Releasing one nobody wants is a caller's bug. */
  release(partitions: readonly number[]): number[] {
    checkFeedPartitions(partitions, this.partitions);
    const unique = [...new Set(partitions)];
    const unwanted = unique.find((p) => this.counts[p] === 0);
    if (unwanted !== undefined) throw new Error(`partition ${unwanted} released more often than wanted`);
    const dropped: number[] = [];
    for (const partition of unique) if (--this.counts[partition]! === 0) dropped.push(partition);
    return dropped;
  }

  wanted(partition: number): boolean {
    return (this.counts[partition] ?? 0) > 0;
  }

  /** Partitions at least one caller wants, ascending. */
  all(): number[] {
    return this.counts.flatMap((count, partition) => (count > 0 ? [partition] : []));
  }
}

/** A replay in progress, for a source's own bookkeeping: where it stands and whom to tell. */
export interface PendingReplay {
  partition: number;
  /** The next offset this replay needs. */
  next: bigint;
  passed: bigint;
  to: bigint;
  onEvent: (event: EventEnvelope, origin: FeedOrigin) => void;
  /** With the highest source offset passed by `to`. */
  resolve: (passed: bigint) => void;
  reject: (err: Error) => void;
}
