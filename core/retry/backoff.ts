import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_TIMER_MS } from '../config.ts';

export interface BackoffOptions {
  /** Shortest wait, and the first attempt's window starts here. */
  minMs: number;
  /** Longest wait, however many attempts failed. */
  maxMs: number;
  /** For tests: a source of [0, 1). */
  random?: () => number;
}

/**
 * The wait after the `attempt`-th failure (1-based): uniform between `minMs` and a ceiling that
 * doubles per attempt up to `maxMs`. The jitter spans the whole window ("full jitter") so that
 * processes restarted together (every role at once, a fleet after an outage) spread out instead of
 * retrying in lockstep; the floor keeps even an unlucky draw from hammering a dead peer.
 */
export function backoffDelay(attempt: number, { minMs, maxMs, random = Math.random }: BackoffOptions): number {
  checkBounds(minMs, maxMs);
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 1), 30));
  return Math.round(minMs + random() * (ceiling - minMs));
}

export interface RetryOptions extends BackoffOptions {
  /** Stops waiting and retrying: the returned promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log the failure. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
  /** Failures this returns false for are thrown at once (default: every failure is retried). */
  retryable?(err: unknown): boolean;
}

/** Runs `work` until it succeeds, waiting `backoffDelay` between attempts; never gives up unless aborted. */
export async function retryWithBackoff<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal, onRetry, retryable = () => true } = options;
  checkBounds(options.minMs, options.maxMs);
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await work(attempt);
    } catch (err) {
      signal?.throwIfAborted();
      if (!retryable(err)) throw err;
      const delayMs = backoffDelay(attempt, options);
      onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
    }
  }
}

function checkBounds(minMs: number, maxMs: number): void {
  if (!(Number.isFinite(minMs) && minMs >= 0 && maxMs >= minMs && maxMs <= MAX_TIMER_MS))
    throw new RangeError(`backoff needs 0 <= minMs <= maxMs <= ${MAX_TIMER_MS}, got minMs=${minMs}, maxMs=${maxMs}`);
}
