import { describe, expect, it, vi } from 'vitest';
import { parseEnvelope } from '../core/events/envelope.ts';
import { silentLogger } from '../core/logger.ts';
import { traceIdSource } from './envelope.ts';
import { createDispatchHandler } from './gateway.ts';
import { ShardSessions } from './sessions.ts';
import { EventSink } from './sink.ts';
import { fakePublisher } from './test-fakes.ts';

const guild = '1100000000000000003';
const message = (id: number) => ({ id: String(1300000000000000000n + BigInt(id)), channel_id: '1200000000000000002', guild_id: guild, author: { id: '1000000000000000004' } });

function setup(maxRecords = 100) {
  const fake = fakePublisher({ maxRecords, batchMax: 1000 });
  const sessions = new ShardSessions({ identified: () => undefined });
  const shed: number[] = [];
  const handle = createDispatchHandler({
    sessions,
    sink: new EventSink(fake.publisher, { events: 'events', deadLetter: 'dlq' }, fake.metrics, silentLogger),
    metrics: fake.metrics,
    logger: silentLogger,
    newTraceId: traceIdSource(),
    onShed: (shard) => shed.push(shard),
  });
  sessions.update(0, { sessionId: 's1', sequence: 1, resumeURL: 'ws://r', shardCount: 1, shardId: 0 });
  const dispatch = (s: number, t = 'MESSAGE_CREATE', d: unknown = message(s)) => handle({ op: 0, t, s, d } as never, 0);
  return { fake, sessions, shed, dispatch };
}

describe('dispatch handler', () => {
  it('puts READY emitted after its followers back in sequence order', async () => {
    const { fake, dispatch } = setup();
    dispatch(2);
    dispatch(3);
    dispatch(1, 'READY', { session_id: 's1' });
    await fake.publisher.flush();
    // READY takes its place in the sequence but is ingest's own session, never an event.
    expect(fake.producer.messages('events').map((m) => parseEnvelope(m.value as Buffer).seq)).toEqual([2, 3]);
    expect((await fake.metrics.sequenceGaps.get()).values).toEqual([]);
  });

  it('skips replays already handed over and dead-letters a malformed dispatch at its position', async () => {
    const { fake, dispatch } = setup();
    dispatch(1, 'READY', { session_id: 's1' });
    dispatch(2);
    dispatch(2);
    dispatch(3, 'MESSAGE_CREATE', { channel_id: '1' });
    dispatch(4);
    await fake.publisher.flush();
    expect(fake.producer.messages('events').map((m) => parseEnvelope(m.value as Buffer).id)).toEqual(['gw:0:s1:2', 'gw:0:s1:4']);
    const [letter] = fake.producer.messages('dlq');
    expect(String(letter!.headers!['x-guildcast-dlq-reason'])).toMatch(/d\.id/);
    expect(letter!.headers!['x-guildcast-seq']).toBe('3');
  });

  it('sheds while the buffer is full and takes the replay from where it stopped', async () => {
    const { fake, dispatch, shed } = setup(3);
    fake.producer.hold();
    for (let s = 1; s <= 6; s++) dispatch(s, s === 1 ? 'READY' : 'MESSAGE_CREATE', s === 1 ? { session_id: 's1' } : message(s));
    await vi.waitFor(() => expect(shed).toEqual([0, 0]), { timeout: 5000 });
    fake.producer.release();
    await fake.publisher.flush();
    for (let s = 5; s <= 6; s++) dispatch(s);
    await fake.publisher.flush();
    expect(fake.producer.messages('events').map((m) => parseEnvelope(m.value as Buffer).seq)).toEqual([2, 3, 4, 5, 6]);
    expect((await fake.metrics.sequenceGaps.get()).values).toEqual([]);
  });
});
