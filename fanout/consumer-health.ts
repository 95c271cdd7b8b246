/**
 * Whether the persist consumer is working now, for /readyz: joined with partitions, not crashed or
 * stopped, and making progress (a fetch, even an empty one, or a finished chunk) recently. "Joined
 * once" is not enough: a consumer kafkajs stopped after a crash must not stay behind a green check.
 */
export class ConsumerHealth {
  private state: 'starting' | 'running' | 'restarting' | 'stopped' = 'starting';
  private assigned = 0;
  private lastProgress: number;
  private reason = '';

  constructor(
    /** Silence after which a joined consumer counts as stuck. */
    private readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastProgress = now();
  }

  get assignedPartitions(): number {
    return this.state === 'running' ? this.assigned : 0;
  }

  joined(partitions: number): void {
    this.state = 'running';
    this.assigned = partitions;
    this.progress();
  }

  /** A fetch returned (with or without records) or a chunk was committed. */
  progress(): void {
    this.lastProgress = this.now();
  }

  crashed(error: Error, restarting: boolean): void {
    this.state = restarting ? 'restarting' : 'stopped';
    this.reason = error.message;
  }

  stopped(reason: string): void {
    this.state = 'stopped';
    this.reason = reason;
  }

  /** Throws the reason the consumer is not working right now. */
  checkAssigned(): void {
    if (this.state === 'starting') throw new Error('not joined the consumer group yet');
    if (this.state === 'restarting') throw new Error(`consumer crashed (${this.reason}); kafkajs is restarting it`);
    if (this.state === 'stopped') throw new Error(`consumer stopped: ${this.reason}`);
    if (this.assigned === 0) throw new Error('no partitions assigned (more members than partitions, or a rebalance under way)');
  }

  checkProgress(): void {
    this.checkAssigned();
    const silent = this.now() - this.lastProgress;
    if (silent > this.stallMs) throw new Error(`no fetch and no finished chunk for ${Math.round(silent / 1000)} s`);
  }
}
