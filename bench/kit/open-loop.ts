/**
 * Open-loop load: operation `i` is due at `start + i / rate`, whatever happened to the ones
 * before it. Latency is measured from that intended time, so a stall shows up as latency of every
 * operation it delayed instead of disappearing (no coordinated omission). Operations due in the
 * same tick are started together.
 */
export interface OpenLoopOptions {
  ratePerSecond: number;
  durationMs: number;
  /** Starts operation `index`; `intendedAt` is its due time in `performance.now()` ms. */
  fire(index: number, intendedAt: number): void;
  /** Called about once a second (progress reports). */
  onSecond?(elapsedMs: number): void;
  /**
   * Wait on a 1 ms timer between ticks at every rate. By default the loop spins on setImmediate
   * above 500/s, which fills every idle moment with CPU of its own: set this when the process's
   * CPU is what is measured.
   */
  timerOnly?: boolean;
}

export async function openLoop({ ratePerSecond, durationMs, fire, onSecond, timerOnly = false }: OpenLoopOptions): Promise<{ fired: number; behindMs: number }> {
  const start = performance.now();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const interval = 1000 / ratePerSecond;
  let fired = 0;
  let nextSecond = 1000;
  let behindMs = 0;
  while (fired < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / interval) + 1);
    if (due - fired > 1) behindMs = Math.max(behindMs, now - (start + fired * interval));
    for (; fired < due; fired++) fire(fired, start + fired * interval);
    if (onSecond && now - start >= nextSecond) {
      onSecond(now - start);
      nextSecond += 1000;
    }
    // setImmediate lets sockets flush between ticks; a timer would add ~1 ms of jitter to every batch.
    await new Promise((r) => (timerOnly ? setTimeout(r, 1) : interval >= 2 ? setTimeout(r, Math.min(interval, 5)) : setImmediate(r)));
  }
  return { fired, behindMs };
}
