import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, localKafkaConfig, uniqueName } from '../../test/support.ts';
import { silentLogger } from '../logger.ts';
import { createKafka, kafkaClientNames, type KafkaClientName } from './client.ts';
import { ensureTopics } from './topics.ts';
import { NonRetriableError, type Admin, type GroupConsumer, type GroupConsumerEvents, type KafkaClient } from './types.ts';

/**
 * The seam's contract (core/kafka/types.ts), the same for every implementation KAFKA_CLIENT can
 * choose: what the roles rely on, against the real broker. A new implementation is adopted only
 * once it passes all of this.
 */
describe.each(kafkaClientNames)('the Kafka seam (%s)', (client: KafkaClientName) => {
  const kafka: KafkaClient = createKafka({ ...localKafkaConfig, KAFKA_CLIENT: client }, silentLogger);
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  async function connectedAdmin(): Promise<Admin> {
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    return admin;
  }

  async function topicWith(admin: Admin, prefix: string, partitions: number): Promise<string> {
    const topic = uniqueName(prefix);
    await ensureTopics(admin, [{ name: topic, partitions, retentionMs: 3_600_000 }]);
    return topic;
  }

  function consumer(groupId = uniqueName('seam-g'), extra: { heartbeatIntervalMs?: number; sessionTimeoutMs?: number } = {}): GroupConsumer {
    const c = kafka.consumer({ groupId, maxWaitMs: 100, ...extra });
    cleanups.push(() => c.stop());
    return c;
  }

  async function producer(idempotent = false, through: KafkaClient = kafka) {
    const p = through.producer({ idempotent });
    await p.connect();
    cleanups.push(() => p.disconnect());
    return p;
  }

  it('keeps each partition in order, one partition per batch, across concurrent handlers', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-order', 3);
    const p = await producer(true);
    const perPartition = 300;
    // Several requests per partition, each partition's in a sequence, the three partitions' concurrently.
    await Promise.all(
      [0, 1, 2].map(async (partition) => {
        for (let i = 0; i < perPartition; i += 50)
          await p.send({ topic, messages: Array.from({ length: 50 }, (_, j) => ({ value: `${partition}:${i + j}`, partition })) });
      }),
    );
    const seen = new Map<number, number[]>();
    const mixed: string[] = [];
    const c = consumer();
    await c.run({
      topics: [topic],
      from: 'earliest',
      partitionsConcurrently: 3,
      eachBatch: async ({ batch }) => {
        for (const r of batch.records) {
          const [partition, n] = String(r.value).split(':').map(Number) as [number, number];
          if (partition !== batch.partition) mixed.push(`${batch.partition} got ${r.value}`);
          seen.set(partition, [...(seen.get(partition) ?? []), n]);
        }
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    await eventually('every record', () => ([0, 1, 2].every((q) => (seen.get(q)?.length ?? 0) >= perPartition) ? true : undefined));
    expect(mixed).toEqual([]);
    for (const q of [0, 1, 2]) expect(seen.get(q)).toEqual(Array.from({ length: perPartition }, (_, i) => i));
  });

  it('writes each record once when an idempotent send is retried after its response was lost', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-idem', 1);
    // A client of its own, so only the producer's connections are stalled and cut.
    const sockets = new Set<net.Socket>();
    const p = await producer(true, createKafka({ ...localKafkaConfig, KAFKA_CLIENT: client }, silentLogger, { onSocket: (s) => void sockets.add(s) }));
    await p.send({ topic, messages: [{ value: 'warm' }] });
    // The next request on every open connection is taken by the broker, its answer never read:
    // reading stops once the request is written, and the connection is cut 300 ms later.
    const stalled: net.Socket[] = [];
    for (const socket of sockets) {
      if (socket.destroyed) continue;
      const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      let armed = true;
      socket.write = ((...args: unknown[]) => {
        const done = write(...args);
        if (armed) {
          armed = false;
          socket.pause();
          stalled.push(socket);
          setTimeout(() => socket.destroy(new Error('cut by the test after the request went out')), 300);
        }
        return done;
      }) as typeof socket.write;
    }
    const values = Array.from({ length: 100 }, (_, i) => `r${i}`);
    await p.send({ topic, messages: values.map((value) => ({ value })) });
    const [end] = await admin.topicOffsets(topic);
    console.log(`[${client}] idempotent retry: ${stalled.length} connection(s) cut, log end ${end!.high} for 101 records`);
    expect(stalled.length).toBeGreaterThan(0);
    expect(end!.high).toBe('101');
    const got: string[] = [];
    const c = consumer();
    await c.run({ topics: [topic], from: 'earliest', eachBatch: async ({ batch }) => void got.push(...batch.records.map((r) => String(r.value))) });
    await eventually('all records read', () => (got.length >= 101 ? true : undefined));
    expect(got).toEqual(['warm', ...values]);
  });

  it('commits an offset with metadata that a new member of the group starts from and reads back', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-commit', 2);
    const p = await producer();
    await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `a${i}`, partition: 0 })) });
    await p.send({ topic, messages: Array.from({ length: 4 }, (_, i) => ({ value: `b${i}`, partition: 1 })) });
    const groupId = uniqueName('seam-commit');
    const first = kafka.consumer({ groupId, maxWaitMs: 100 });
    let committed = false;
    await first.run({
      topics: [topic],
      from: 'earliest',
      autoResolve: false,
      eachBatch: async ({ batch, commit, resolveOffset }) => {
        if (batch.partition !== 0 || committed) return;
        resolveOffset(batch.records[5]!.offset);
        await commit([{ topic, partition: 0, offset: '6', metadata: 'filter:{"x":1}' }]);
        committed = true;
      },
    });
    await eventually('committed', () => (committed ? true : undefined));
    await first.stop();

    const read = await admin.committedOffsets(groupId, topic);
    expect(read).toEqual([
      { partition: 0, offset: '6', metadata: 'filter:{"x":1}' },
      { partition: 1, offset: '-1', metadata: null },
    ]);
    const got: string[] = [];
    const second = consumer(groupId);
    await second.run({ topics: [topic], from: 'earliest', eachBatch: async ({ batch }) => void got.push(...batch.records.map((r) => `${batch.partition}:${r.value}`)) });
    await eventually('the rest', () => (got.length >= 8 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(got.filter((g) => g.startsWith('0:'))).toEqual(['0:a6', '0:a7', '0:a8', '0:a9']);
    expect(got.filter((g) => g.startsWith('1:'))).toEqual(['1:b0', '1:b1', '1:b2', '1:b3']);
  });

  it('starts a partition where a join listener seeks it, and leaves a batch that a seek made stale', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-seek', 1);
    const p = await producer();
    await p.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}` })) });
    const got: string[] = [];
    const c = consumer();
    let staleSeen = false;
    let sought = false;
    c.on('join', ({ assignment }) => {
      if (assignment[topic]?.includes(0)) c.seek(topic, 0, '15');
    });
    await c.run({
      topics: [topic],
      from: 'earliest',
      autoResolve: false,
      eachBatch: async ({ batch, isStale, resolveOffset }) => {
        for (const r of batch.records) {
          if (!sought && r.value!.toString() === 'v17') {
            // Back to 16 mid-batch: the rest of this batch is no longer what the consumer reads.
            sought = true;
            c.seek(topic, 0, '16');
          }
          if (isStale()) {
            staleSeen = true;
            return;
          }
          got.push(r.value!.toString());
          resolveOffset(r.offset);
        }
      },
    });
    await eventually('to the end', () => (got.at(-1) === 'v19' ? true : undefined));
    expect(staleSeen).toBe(true);
    expect(got).toEqual(['v15', 'v16', 'v16', 'v17', 'v18', 'v19']);
  });

  it('keeps partition pauses and the topic pause apart', async () => {
    // Each "not fetched" is checked after a later record on a fetched partition arrived: one broker
    // answers every active partition in the same fetch, so a paused one that was fetched would show.
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-pause', 3);
    const p = await producer();
    const got: string[] = [];
    const c = consumer();
    let joined = false;
    c.on('join', () => {
      c.pause(topic);
      c.pause(topic, [2]);
      c.resume(topic);
      joined = true;
    });
    await c.run({ topics: [topic], from: 'latest', eachBatch: async ({ batch }) => void got.push(...batch.records.map((r) => `${batch.partition}:${r.value}`)) });
    await eventually('joined', () => (joined ? true : undefined));
    const send = (partition: number, value: string) => p.send({ topic, messages: [{ value, partition }] });
    const marker = async (name: string) => {
      await send(0, name);
      await eventually(name, () => (got.includes(`0:${name}`) ? true : undefined));
    };
    await eventually('partition 0 fetched', async () => {
      await send(0, 'warm');
      await new Promise((r) => setTimeout(r, 200));
      return got.includes('0:warm') ? true : undefined;
    });
    await send(2, 'a');
    await marker('m1');
    const afterJoin = got.filter((g) => g.startsWith('2:'));
    c.resume(topic, [2]);
    await eventually('partition 2 once resumed', () => (got.includes('2:a') ? true : undefined));
    c.pause(topic, [1]);
    await send(1, 'b');
    await marker('m2');
    const afterPartitionPause = got.filter((g) => g.startsWith('1:'));
    c.pause(topic);
    c.resume(topic);
    await marker('m3');
    const afterTopicResume = got.filter((g) => g.startsWith('1:'));
    c.resume(topic, [1]);
    await eventually('partition 1 once resumed', () => (got.includes('1:b') ? true : undefined));
    // The whole topic paused: nothing of it, on any partition, until resumed.
    c.pause(topic);
    await send(0, 'c');
    await new Promise((r) => setTimeout(r, 600));
    const whilePaused = got.filter((g) => g === '0:c');
    c.resume(topic);
    await eventually('partition 0 once the topic resumed', () => (got.includes('0:c') ? true : undefined));
    expect({ afterJoin, afterPartitionPause, afterTopicResume, whilePaused }).toEqual({ afterJoin: [], afterPartitionPause: [], afterTopicResume: [], whilePaused: [] });
  });

  it('notifies join with the assignment, fetch, heartbeat, batch end and stop', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-events', 2);
    const p = await producer();
    const seen: Partial<Record<keyof GroupConsumerEvents, unknown[]>> = {};
    const c = consumer(uniqueName('seam-ev'), { heartbeatIntervalMs: 200 });
    for (const event of ['join', 'fetch', 'heartbeat', 'batchEnd', 'stop'] as const) c.on(event, (payload) => void (seen[event] ??= []).push(payload));
    await c.run({ topics: [topic], from: 'earliest', eachBatch: async () => {} });
    await p.send({ topic, messages: [{ value: 'x', partition: 1 }] });
    await eventually('a batch end and heartbeats', () => ((seen.batchEnd?.length ?? 0) > 0 && (seen.heartbeat?.length ?? 0) > 1 ? true : undefined));
    await c.stop();
    const join = seen.join![0] as GroupConsumerEvents['join'];
    expect(join.assignment).toEqual({ [topic]: [0, 1] });
    expect(join.memberId).not.toBe('');
    expect(seen.fetch!.length).toBeGreaterThan(0);
    expect(seen.batchEnd).toContainEqual({ topic, partition: 1 });
    expect(seen.stop).toHaveLength(1);
  });

  it('delivers a failed batch again, and stops for good after a non-retriable failure', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-crash', 1);
    const p = await producer();
    await p.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] });
    const crashes: GroupConsumerEvents['crash'][] = [];
    const attempts: string[][] = [];
    const c = consumer();
    c.on('crash', (e) => void crashes.push(e));
    await c.run({
      topics: [topic],
      from: 'earliest',
      eachBatch: async ({ batch }) => {
        attempts.push(batch.records.map((r) => String(r.value)));
        // kafkajs retries a failed handler in place before it crashes; platformatic/ crashes and
        // restarts the consumer at once: either way the same records come again.
        if (attempts.length === 1) throw new Error('transient');
        throw new NonRetriableError('for good');
      },
    });
    await eventually('a crash without restart', () => (crashes.some((e) => !e.restart) ? true : undefined));
    await new Promise((r) => setTimeout(r, 2500));
    expect(attempts).toEqual([
      ['one', 'two'],
      ['one', 'two'],
    ]);
    expect(crashes.at(-1)).toMatchObject({ restart: false });
    expect(crashes.at(-1)!.error.message).toContain('for good');
    expect(crashes.slice(0, -1).every((e) => e.restart)).toBe(true);
  });

  it('splits the partitions between two members after a rebalance, each told it is rebalancing', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-rebalance', 4);
    const groupId = uniqueName('seam-rb');
    const a = consumer(groupId, { heartbeatIntervalMs: 300, sessionTimeoutMs: 10_000 });
    const b = consumer(groupId, { heartbeatIntervalMs: 300, sessionTimeoutMs: 10_000 });
    const joins: { who: string; partitions: number[] }[] = [];
    let rebalancing = 0;
    a.on('join', ({ assignment }) => void joins.push({ who: 'a', partitions: assignment[topic] ?? [] }));
    b.on('join', ({ assignment }) => void joins.push({ who: 'b', partitions: assignment[topic] ?? [] }));
    a.on('rebalancing', () => void rebalancing++);
    await a.run({ topics: [topic], from: 'earliest', eachBatch: async () => {} });
    await eventually('a alone', () => (joins.some((j) => j.who === 'a' && j.partitions.length === 4) ? true : undefined));
    await b.run({ topics: [topic], from: 'earliest', eachBatch: async () => {} });
    await eventually('both in', () => {
      const lastA = joins.filter((j) => j.who === 'a').at(-1);
      const lastB = joins.filter((j) => j.who === 'b').at(-1);
      return lastA && lastB && lastA.partitions.length + lastB.partitions.length === 4 && lastB.partitions.length > 0 ? { lastA, lastB } : undefined;
    });
    const lastA = joins.filter((j) => j.who === 'a').at(-1)!;
    const lastB = joins.filter((j) => j.who === 'b').at(-1)!;
    expect([...lastA.partitions, ...lastB.partitions].sort()).toEqual([0, 1, 2, 3]);
    expect(rebalancing).toBeGreaterThan(0);
    const group = await admin.describeGroup(groupId);
    expect(group.members).toHaveLength(2);
  });

  it('answers the admin questions the roles ask', async () => {
    const admin = await connectedAdmin();
    const topic = await topicWith(admin, 'seam-admin', 2);
    expect(await admin.listTopics()).toContain(topic);
    expect(await admin.describeTopics([topic])).toEqual([{ name: topic, partitions: [0, 1] }]);
    await admin.alterTopicConfigs(topic, { 'retention.ms': '7200000' });
    expect(await admin.topicConfigs(topic, ['retention.ms'])).toEqual({ 'retention.ms': '7200000' });
    const p = await producer();
    await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: 0 })) });
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await p.send({ topic, messages: [{ value: 'later', partition: 0 }] });
    expect(await admin.topicOffsets(topic)).toEqual([
      { partition: 0, low: '0', high: '6' },
      { partition: 1, low: '0', high: '0' },
    ]);
    expect((await admin.offsetsAtTime(topic, before + 10)).sort((x, y) => x.partition - y.partition)).toEqual([
      { partition: 0, offset: '5' },
      { partition: 1, offset: '0' },
    ]);
    await admin.deleteRecords(topic, [{ partition: 0, offset: '2' }]);
    expect((await admin.topicOffsets(topic))[0]).toEqual({ partition: 0, low: '2', high: '6' });
    const groupId = uniqueName('seam-admin-g');
    await admin.setCommittedOffsets(groupId, topic, [{ partition: 0, offset: '4' }]);
    expect((await admin.committedOffsets(groupId, topic))[0]!.offset).toBe('4');
    expect((await admin.describeGroup(groupId)).members).toEqual([]);
    await admin.deleteGroups([groupId]);
    expect((await admin.committedOffsets(groupId, topic))[0]!.offset).toBe('-1');
    expect(await admin.brokers()).toBeGreaterThan(0);
    await admin.deleteTopics([topic]);
    await eventually('topic gone', async () => (!(await admin.listTopics()).includes(topic) ? true : undefined));
  });
});
