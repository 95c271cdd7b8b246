import { afterEach, describe, expect, it } from 'vitest';
import { fakePublisher } from './test-fakes.ts';
import type { BatchingPublisher, ShardPosition } from './publisher.ts';

const record = (n: number, shard = 0) => ({
  topic: 'events',
  key: String(n),
  value: Buffer.from(`event ${n}`),
  type: 'MESSAGE_CREATE',
  position: { shard, sessionId: 's', seq: n },
});

describe('BatchingPublisher', () => {
  let publisher: BatchingPublisher | undefined;
  afterEach(() => publisher?.close(100));

  it('sends in batches of at most batchMax, in arrival order', async () => {
    const fake = fakePublisher({ batchMax: 4 });
    publisher = fake.publisher;
    for (let n = 1; n <= 10; n++) publisher.enqueue(record(n));
    await publisher.flush();
    expect(fake.producer.batches.every((b) => b.topicMessages!.flatMap((t) => t.messages).length <= 4)).toBe(true);
    expect(fake.producer.messages().map((m) => m.key)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    // acks=all is the seam's contract (core/kafka/types.ts); the publisher passes its compression.
    expect(fake.producer.batches.every((b) => b.compression === 'none')).toBe(true);
  });

  it('retries a failed batch until it is acknowledged, losing and reordering nothing', async () => {
    const fake = fakePublisher({ batchMax: 3 });
    publisher = fake.publisher;
    fake.producer.failures = 4;
    for (let n = 1; n <= 7; n++) publisher.enqueue(record(n));
    await publisher.flush();
    expect(fake.producer.messages().map((m) => m.key)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect((await fake.metrics.sendFailures.get()).values[0]!.value).toBe(4);
  });

  it('reports the highest acknowledged position per shard', async () => {
    const fake = fakePublisher({ batchMax: 100 });
    publisher = fake.publisher;
    const acked: ShardPosition[] = [];
    publisher.on('acked', (positions) => acked.push(...positions));
    publisher.enqueue(record(1, 0));
    publisher.enqueue(record(2, 1));
    publisher.enqueue(record(3, 0));
    publisher.enqueue({ topic: 'dead-letter', key: null, value: Buffer.from('x'), type: 'DEAD_LETTER' });
    await publisher.flush();
    const last = new Map(acked.map((p) => [p.shard, p.seq]));
    expect(last).toEqual(new Map([[0, 3], [1, 2]]));
  });

  it('says full at its bound and drained at half of it, counting in-flight records', async () => {
    const fake = fakePublisher({ maxRecords: 10, batchMax: 2 });
    publisher = fake.publisher;
    const events: string[] = [];
    publisher.on('full', () => events.push('full'));
    publisher.on('drained', () => events.push('drained'));
    fake.producer.hold();
    for (let n = 1; n <= 10; n++) publisher.enqueue(record(n));
    expect(publisher.isFull()).toBe(true);
    expect(publisher.size.records).toBe(10);
    fake.producer.release();
    await publisher.flush();
    expect(events).toEqual(['full', 'drained']);
    expect(publisher.size).toEqual({ records: 0, bytes: 0 });
  });

  it('resolves publish() only after the acknowledgement', async () => {
    const fake = fakePublisher();
    publisher = fake.publisher;
    fake.producer.hold();
    let acknowledged = false;
    const done = publisher.publish(record(1)).then(() => (acknowledged = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(acknowledged).toBe(false);
    fake.producer.release();
    await done;
    expect(fake.producer.messages()).toHaveLength(1);
  });

  it('on close, gives up after the timeout and rejects what Kafka never acknowledged', async () => {
    const fake = fakePublisher();
    fake.producer.failures = Number.MAX_SAFE_INTEGER;
    const pending = fake.publisher.publish(record(1));
    const outcome = pending.then(() => 'acked', (err: Error) => err.name);
    await fake.publisher.close(50);
    expect(await outcome).toBe('Error');
    expect(fake.publisher.size.records).toBe(0);
    await expect(fake.publisher.publish(record(2))).rejects.toThrow(/closed/);
  });
});
