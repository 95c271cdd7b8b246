import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommitOffset } from '../core/kafka/types.ts';
import { createLogger } from '../core/logger.ts';
import { OffsetCommitter } from './offset-committer.ts';

const logger = createLogger('test', { level: 'silent' });
const at = (partition: number, offset: number, metadata = `f${offset}`): CommitOffset => ({ topic: 'events', partition, offset: String(offset), metadata });

/** A broker that records each request and answers it when told to. */
function broker() {
  const requests: { offsets: CommitOffset[]; answer(error?: Error): void }[] = [];
  const commit = (offsets: CommitOffset[]) =>
    new Promise<void>((resolve, reject) => requests.push({ offsets, answer: (error) => (error ? reject(error) : resolve()) }));
  return { requests, commit };
}

describe('OffsetCommitter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends one request per interval carrying the newest mark of every partition', async () => {
    const b = broker();
    const committer = new OffsetCommitter({ intervalMs: 200, logger });
    committer.mark(at(0, 10), b.commit);
    await vi.advanceTimersByTimeAsync(0);
    expect(b.requests).toHaveLength(1);
    b.requests[0]!.answer();
    for (const [p, o] of [[0, 11], [1, 5], [0, 12], [2, 7], [1, 6]] as const) committer.mark(at(p, o), b.commit);
    await vi.advanceTimersByTimeAsync(199);
    expect(b.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(b.requests).toHaveLength(2);
    expect(b.requests[1]!.offsets.map((o) => [o.partition, o.offset, o.metadata])).toEqual([
      [0, '12', 'f12'],
      [1, '6', 'f6'],
      [2, '7', 'f7'],
    ]);
    expect(committer.uncommitted).toBe(0);
  });

  it('keeps one request in flight: marks made meanwhile go in the next one', async () => {
    const b = broker();
    const committer = new OffsetCommitter({ intervalMs: 0, logger });
    committer.mark(at(0, 1), b.commit);
    await vi.advanceTimersByTimeAsync(0);
    committer.mark(at(0, 2), b.commit);
    committer.mark(at(0, 3), b.commit);
    await vi.advanceTimersByTimeAsync(50);
    expect(b.requests).toHaveLength(1);
    b.requests[0]!.answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(b.requests).toHaveLength(2);
    expect(b.requests[1]!.offsets).toEqual([at(0, 3)]);
  });

  it('a failed request keeps its marks for the next one, unless newer marks replaced them', async () => {
    const b = broker();
    const committer = new OffsetCommitter({ intervalMs: 100, logger });
    committer.mark(at(0, 1), b.commit);
    committer.mark(at(1, 1), b.commit);
    await vi.advanceTimersByTimeAsync(0);
    committer.mark(at(1, 2), b.commit);
    b.requests[0]!.answer(new Error('coordinator not available'));
    // A failing coordinator is asked again after a second, not after the interval.
    await vi.advanceTimersByTimeAsync(999);
    expect(b.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(b.requests).toHaveLength(2);
    expect([...b.requests[1]!.offsets].sort((x, y) => x.partition - y.partition)).toEqual([at(0, 1), at(1, 2)]);
  });

  it('flush commits at once and waits for the request; it throws what the request failed with', async () => {
    const b = broker();
    const committer = new OffsetCommitter({ intervalMs: 60_000, logger });
    committer.mark(at(3, 9), b.commit);
    await vi.advanceTimersByTimeAsync(0);
    b.requests[0]!.answer();
    committer.mark(at(3, 10), b.commit);
    let flushed = false;
    const flushing = committer.flush().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(b.requests).toHaveLength(2);
    expect(flushed).toBe(false);
    b.requests[1]!.answer();
    await flushing;
    expect(b.requests[1]!.offsets).toEqual([at(3, 10)]);

    committer.mark(at(3, 11), b.commit);
    const failing = committer.flush();
    await vi.advanceTimersByTimeAsync(0);
    b.requests[2]!.answer(new Error('rebalance in progress'));
    await expect(failing).rejects.toThrow('rebalance in progress');
  });

  it('forget drops the marks of the former assignment; close drops everything and commits nothing more', async () => {
    const b = broker();
    const committer = new OffsetCommitter({ intervalMs: 100, logger });
    committer.mark(at(0, 1), b.commit);
    await vi.advanceTimersByTimeAsync(0);
    b.requests[0]!.answer();
    committer.mark(at(0, 2), b.commit);
    committer.forget();
    await vi.advanceTimersByTimeAsync(500);
    expect(b.requests).toHaveLength(1);
    committer.mark(at(0, 3), b.commit);
    committer.close();
    committer.mark(at(0, 4), b.commit);
    await vi.advanceTimersByTimeAsync(500);
    expect(b.requests).toHaveLength(1);
    await committer.flush();
    expect(b.requests).toHaveLength(1);
  });

  it('a request of the former assignment that fails does not bring its marks back after forget', async () => {
    const b = broker();
    const committer = new OffsetCommitter({ intervalMs: 0, logger });
    committer.mark(at(0, 5), b.commit);
    await vi.advanceTimersByTimeAsync(0);
    committer.forget();
    b.requests[0]!.answer(new Error('rebalance in progress'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(b.requests).toHaveLength(1);
    expect(committer.uncommitted).toBe(0);
  });

  it('sends through the newest batch’s commit (the current generation’s)', async () => {
    const older = broker();
    const newer = broker();
    const committer = new OffsetCommitter({ intervalMs: 0, logger });
    committer.mark(at(0, 1), older.commit);
    committer.mark(at(1, 1), newer.commit);
    await vi.advanceTimersByTimeAsync(0);
    expect(older.requests).toHaveLength(0);
    expect(newer.requests[0]!.offsets).toEqual([at(0, 1), at(1, 1)]);
  });
});
