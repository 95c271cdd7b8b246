// Fixed-window limits (IDENTIFY, commands) are core/rate-limit/fixed-window.ts, shared with ingest.

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
