import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { frameBody } from '../core/discord/gateway/frames.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.ts';
import { createEdgeMetrics } from './metrics.ts';
import { Session } from './session.ts';
import { MemorySessionStore, type StoredSession } from './session-store.ts';

const SESSIONS = 100;
const INTERVAL_MS = 1_000;
/** The checkpointer's round: a tenth of the interval. */
const TICK_MS = 100;
const TICKS_PER_INTERVAL = INTERVAL_MS / TICK_MS;
/** Rounding and the phases' spread: a few more than an even share per round. */
const MAX_PER_TICK = Math.ceil(SESSIONS / TICKS_PER_INTERVAL) + 3;

/** Every save, with the (fake) time it was asked for. */
class RecordingStore extends MemorySessionStore {
  readonly writes: { id: string; at: number; seq: number }[] = [];
  /** Sessions whose next save fails. */
  readonly failNext = new Set<string>();

  override async save(state: StoredSession, ttlMs: number): Promise<void> {
    this.writes.push({ id: state.id, at: Date.now(), seq: state.checkpoints.at(-1)?.seq ?? 0 });
    if (this.failNext.delete(state.id)) throw new Error('store unavailable');
    return super.save(state, ttlMs);
  }

  /** Writes per instant: a round's writes all happen at one fake time. */
  perInstant(from: number): number[] {
    const counts = new Map<number, number>();
    for (const { at } of this.writes) if (at >= from) counts.set(at, (counts.get(at) ?? 0) + 1);
    return [...counts.values()];
  }

  timesOf(id: string, from: number): number[] {
    return this.writes.filter((w) => w.id === id && w.at >= from).map((w) => w.at);
  }
}

function attachedSession(): Session {
  const session = new Session({ subject: 'bot', guilds: '*', expiresAt: new Date(Date.now() + 3_600_000) }, [0, 1], 0, 1_000, () => {});
  session.attach({ send: () => {}, terminate: () => {} });
  return session;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('Checkpointer', () => {
  const sessions: Session[] = [];
  let store: RecordingStore;
  let checkpointer: Checkpointer | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    store = new RecordingStore(silentLogger, () => Date.now());
  });

  afterEach(() => {
    checkpointer?.close();
    checkpointer = undefined;
    sessions.splice(0);
    vi.useRealTimers();
  });

  /** `SESSIONS` sessions connecting together, each stored at once as IDENTIFY does. */
  function start(options: Partial<CheckpointerOptions> = {}): Checkpointer {
    const registry = createRegistry('checkpointer-test', { defaults: false });
    checkpointer = new Checkpointer(
      store,
      { positions: () => new Map() },
      () => sessions,
      { nodeId: 'a', intervalMs: INTERVAL_MS, resumeWindowMs: 60_000, ...options },
      createEdgeMetrics(registry),
      silentLogger,
    );
    for (let i = 0; i < SESSIONS; i++) {
      const session = attachedSession();
      sessions.push(session);
      expect(checkpointer.take(session)).toBe(true);
    }
    return checkpointer;
  }

  /** Advances round by round; before each, every session is sent an event (busy sessions). */
  async function busyFor(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += TICK_MS) {
      for (const session of sessions) session.dispatch(frameBody('MESSAGE_CREATE', { t }));
      await vi.advanceTimersByTimeAsync(TICK_MS);
    }
  }

  it('spreads the periodic checkpoints of sessions that connected together over the interval', async () => {
    start();
    await busyFor(6 * INTERVAL_MS);

    const perTick = store.perInstant(1);
    expect(Math.max(...perTick)).toBeLessThanOrEqual(MAX_PER_TICK);
    // Every session has its own turn, once per interval: 5 full intervals after the first.
    const steady = INTERVAL_MS;
    for (const session of sessions) {
      const times = store.timesOf(session.id, steady);
      expect(times.length).toBeGreaterThanOrEqual(5);
      expect(times.length).toBeLessThanOrEqual(6);
      for (const gap of gaps(times)) {
        expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS - TICK_MS);
        expect(gap).toBeLessThanOrEqual(INTERVAL_MS + TICK_MS);
      }
    }
  });

  it('checkpoints a session first within one interval of being tracked', async () => {
    start();
    await busyFor(INTERVAL_MS + TICK_MS);
    for (const session of sessions) expect(store.timesOf(session.id, 1).length).toBeGreaterThanOrEqual(1);
  });

  it('writes the newest seq on the next turn and then skips sessions whose seq did not move', async () => {
    start();
    await busyFor(2 * INTERVAL_MS);
    // Idle now: each session's next turn writes what moved since its last one.
    await vi.advanceTimersByTimeAsync(INTERVAL_MS + TICK_MS);
    for (const session of sessions) expect(store.writes.filter((w) => w.id === session.id).at(-1)!.seq).toBe(session.sequence);
    const written = store.writes.length;
    // Nothing moves, and the rows are far from needing a refresh.
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(store.writes.length).toBe(written);
  });

  it('spreads the TTL refreshes of idle sessions and keeps every row younger than half the window', async () => {
    const resumeWindowMs = 8_000;
    start({ resumeWindowMs });
    await vi.advanceTimersByTimeAsync(30_000);

    const refreshes = store.perInstant(1);
    expect(refreshes.length).toBeGreaterThan(0);
    expect(Math.max(...refreshes)).toBeLessThanOrEqual(MAX_PER_TICK);
    for (const session of sessions) {
      const times = [0, ...store.timesOf(session.id, 1)];
      expect(times.length).toBeGreaterThanOrEqual(30_000 / (resumeWindowMs / 2));
      for (const gap of gaps(times)) expect(gap).toBeLessThanOrEqual(resumeWindowMs / 2);
    }
  });

  it('writes a session whose write failed again on its next turn', async () => {
    start();
    await busyFor(INTERVAL_MS);
    // One more event each, so every session has a newer seq than it wrote.
    for (const session of sessions) session.dispatch(frameBody('MESSAGE_CREATE', {}));
    const failing = sessions[7]!;
    store.failNext.add(failing.id);
    const failedAt = Date.now();
    // Idle from here: every session's next turn writes its newest seq; the failing one's fails.
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(store.timesOf(failing.id, failedAt + 1)).toHaveLength(1);
    expect(store.failNext.has(failing.id)).toBe(false);
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    const attempts = store.timesOf(failing.id, failedAt + 1);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]! - attempts[0]!).toBeLessThanOrEqual(INTERVAL_MS + TICK_MS);
    expect((await store.load(failing.id))?.checkpoints.at(-1)?.seq).toBe(failing.sequence);
    // The others were written once, on their first idle turn.
    for (const session of sessions) if (session !== failing) expect(store.timesOf(session.id, failedAt + 1)).toHaveLength(1);
  });
});
