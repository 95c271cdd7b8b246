/**
 * Identical reads in flight at the same time share one execution (Discord's data services do the
 * same in front of ScyllaDB). Only in-flight work is shared: nothing is cached after it settles.
 * Callers receive the same result object and must not mutate it.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(private readonly onJoin: (key: string) => void = () => {}) {}

  get pending(): number {
    return this.inFlight.size;
  }

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) {
      this.onJoin(key);
      return running;
    }
    const started = work().finally(() => {
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    });
    this.inFlight.set(key, started);
    return started;
  }

  /**
   * Stops sharing matching reads with callers that arrive from now on: after a write, a new read
   * must not join a query that may have been sent before the write landed.
   */
  forget(matches: (key: string) => boolean): void {
    for (const key of this.inFlight.keys()) if (matches(key)) this.inFlight.delete(key);
  }
}
