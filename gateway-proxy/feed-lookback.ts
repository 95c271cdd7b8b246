/**
 * The partitions a source started reading below their end (the lookback, DEFAULT_FEED_LOOKBACK):
 * until a partition's position reaches that end, its records only raise what counts as passed.
 * `done` resolves once every partition asked about reached its end or stopped being read, so a
 * `want` hands out positions whose `passed` already covers the lookback.
 */
export class FeedLookback {
  private readonly pending = new Map<number, { end: bigint; finished: Promise<void>; finish: () => void }>();

  begin(partition: number, end: bigint): void {
    this.finish(partition);
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    this.pending.set(partition, { end, finished, finish });
  }

  /** The partition's end while it is looked back on; undefined once it is live. */
  endOf(partition: number): bigint | undefined {
    return this.pending.get(partition)?.end;
  }

  /** The partition's position moved to `next`: at its end the lookback is over. */
  reached(partition: number, next: bigint): void {
    const entry = this.pending.get(partition);
    if (entry && next >= entry.end) this.finish(partition);
  }

  /** Over for `partition` (reached, released, or the source stopped). */
  finish(partition: number): void {
    const entry = this.pending.get(partition);
    if (!entry) return;
    this.pending.delete(partition);
    entry.finish();
  }

  finishAll(): void {
    for (const partition of [...this.pending.keys()]) this.finish(partition);
  }

  done(partitions: readonly number[]): Promise<void> {
    return Promise.all(partitions.map((p) => this.pending.get(p)?.finished)).then(() => undefined);
  }
}
