import { describe, expect, it } from 'vitest';
import { ShardSessions } from './sessions.ts';

const info = (sessionId: string, sequence: number) => ({ sessionId, sequence, resumeURL: 'ws://resume', shardCount: 4, shardId: 1 });

function sessions() {
  const identified: { shard: number; sessionId: string; lost?: { sessionId: string; seq: number } }[] = [];
  const store = new ShardSessions({ identified: (shard, sessionId, lost) => identified.push({ shard, sessionId, lost }) });
  return { store, identified };
}

describe('ShardSessions', () => {
  it('hands the library the acknowledged sequence, not the one it last saw', () => {
    const { store } = sessions();
    store.update(1, info('s1', 1));
    for (let seq = 1; seq <= 5; seq++) store.arrive(1, seq);
    store.update(1, info('s1', 5));
    expect(store.retrieve(1)?.sequence).toBe(0);
    expect(store.acknowledge(1, 's1', 3)).toEqual({ shard: 1, shardCount: 4, sessionId: 's1', seq: 3, resumeUrl: 'ws://resume' });
    expect(store.retrieve(1)).toMatchObject({ sessionId: 's1', sequence: 3 });
    expect(store.acknowledge(1, 's1', 2)).toBeUndefined();
    expect(store.acknowledge(1, 'old-session', 9)).toBeUndefined();
  });

  it('drops replays already handed over and counts skipped sequences', () => {
    const { store } = sessions();
    store.update(1, info('s1', 1));
    expect(store.arrive(1, 1)).toEqual({ kind: 'next', sessionId: 's1', missed: 0 });
    expect(store.arrive(1, 2)).toEqual({ kind: 'next', sessionId: 's1', missed: 0 });
    expect(store.arrive(1, 2)).toEqual({ kind: 'duplicate' });
    expect(store.arrive(1, 6)).toEqual({ kind: 'next', sessionId: 's1', missed: 3 });
    expect(store.arrive(2, 1)).toEqual({ kind: 'no-session' });
  });

  it('resumes loaded checkpoints and ignores the library forgetting a session while held', async () => {
    const { store } = sessions();
    store.load([{ shard: 1, shardCount: 4, sessionId: 's1', seq: 7, resumeUrl: 'ws://r' }]);
    expect(store.retrieve(1)).toMatchObject({ sessionId: 's1', sequence: 7, shardCount: 4, resumeURL: 'ws://r' });
    await store.holdDuring(async () => store.update(1, null));
    expect(store.retrieve(1)?.sessionId).toBe('s1');
    expect(store.arrive(1, 7)).toEqual({ kind: 'duplicate' });
    store.update(1, null);
    expect(store.retrieve(1)).toBeNull();
  });

  it('reports a new session, and the one it replaced as lost', () => {
    const { store, identified } = sessions();
    store.update(1, info('s1', 1));
    store.arrive(1, 1);
    store.arrive(1, 2);
    store.update(1, null);
    store.update(1, info('s2', 1));
    expect(identified).toEqual([
      { shard: 1, sessionId: 's1', lost: undefined },
      { shard: 1, sessionId: 's2', lost: { sessionId: 's1', seq: 2 } },
    ]);
    expect(store.arrive(1, 1)).toEqual({ kind: 'next', sessionId: 's2', missed: 0 });
  });

  it('sheds while full and accepts again only where the replay continues', () => {
    const { store } = sessions();
    store.update(1, info('s1', 1));
    store.arrive(1, 1);
    expect(store.arrive(1, 2, false)).toEqual({ kind: 'shed' });
    expect(store.shedding()).toEqual([1]);
    expect(store.arrive(1, 3, true)).toEqual({ kind: 'shed' });
    expect(store.arrive(1, 2, true)).toEqual({ kind: 'next', sessionId: 's1', missed: 0 });
    expect(store.shedding()).toEqual([]);
    expect(store.arrive(1, 3, true)).toEqual({ kind: 'next', sessionId: 's1', missed: 0 });
  });
});
