/** At most `limit` takes per fixed window of `windowMs` (Discord counts gateway commands this way). */
export class FixedWindow {
  private windowStart = 0;
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  take(now = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.limit;
  }

  expired(now: number): boolean {
    return now - this.windowStart >= this.windowMs;
  }
}

/** A FixedWindow per key (client address), forgotten once its window has passed. */
export class KeyedWindows {
  private readonly windows = new Map<string, FixedWindow>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  take(key: string, now = Date.now()): boolean {
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = new FixedWindow(this.limit, this.windowMs)));
    return window.take(now);
  }

  prune(now = Date.now()): void {
    for (const [key, window] of this.windows) if (window.expired(now)) this.windows.delete(key);
  }
}

/** Open connections per key, refusing past `limit`. */
export class ConcurrencyLimit {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit: number) {}

  acquire(key: string): boolean {
    const count = this.open.get(key) ?? 0;
    if (count >= this.limit) return false;
    this.open.set(key, count + 1);
    return true;
  }

  release(key: string): void {
    const count = (this.open.get(key) ?? 1) - 1;
    if (count <= 0) this.open.delete(key);
    else this.open.set(key, count);
  }
}
