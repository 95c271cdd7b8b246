/**
 * A counting semaphore: at most `slots` holders at once, the rest served in arrival order. The
 * store holds one for all its writes, so the bound on statements in flight is per process, not per
 * call: twelve partitions writing at once share the same 64 slots instead of sending 768.
 */
export class Limiter {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError('slots must be a positive integer');
    this.free = slots;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
