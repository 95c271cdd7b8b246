import { afterEach, describe, expect, it } from 'vitest';
import { serializeEnvelope } from '../core/events/envelope.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { ensureTopics, topicNames } from '../core/kafka/topics.ts';
import { NonRetriableError, type OutgoingRecord } from '../core/kafka/types.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { ReplayGoneError, type DeliverySource, type FeedOrigin, type FeedPosition } from './delivery-source.ts';
import { guildOnShard, messageEvent, metricValue, TEST_SECRET } from './edge.test-support.ts';
import { kafkaDeliverySource } from './kafka-delivery-source.ts';
import { createEdgeMetrics } from './metrics.ts';

const PARTITIONS = 4;

/**
 * Issue 13, item 2 (the source side): the Kafka feed reads only the partitions somebody wants, adds
 * one without touching the others, starts a partition wanted again at its then-end, and replays
 * ranges for RESUMEs exactly as the live path handed them on.
 */
describe('the Kafka feed reading only wanted partitions', () => {
  const kafka = testKafka();
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  async function feedTopic() {
    const prefix = uniqueName('edge-interest');
    const config = loadEdgeConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: String(PARTITIONS), EDGE_TOKEN_SECRET: TEST_SECRET });
    const topics = topicNames(config);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await ensureTopics(admin, [
      { name: topics.deliveries, partitions: PARTITIONS, retentionMs: 3_600_000 },
      { name: topics.deadLetter, partitions: 1, retentionMs: 3_600_000 },
    ]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sourceOffsets = new Map<number, number>();
    const guilds = Array.from({ length: PARTITIONS }, (_, p) => guildOnShard(p, PARTITIONS, 1300 + p));
    const produced = new Map<number, number>(); // bytes per partition
    /** `count` events on `partition`, numbered from `from`, each with the partition's next source offset unless `sourceOffset` says which. */
    const records = (partition: number, from: number, count: number, sourceOffset?: (i: number) => number): OutgoingRecord[] =>
      Array.from({ length: count }, (_, i) => {
        const next = sourceOffset ? sourceOffset(i) : (sourceOffsets.get(partition) ?? 0);
        if (!sourceOffset) sourceOffsets.set(partition, next + 1);
        const key = guilds[partition]!;
        const value = serializeEnvelope(messageEvent(key, from + i, { partition }));
        const header = String(next);
        produced.set(partition, (produced.get(partition) ?? 0) + Buffer.byteLength(key) + value.length + SOURCE_OFFSET_HEADER.length + header.length);
        return { key, value, partition, headers: { [SOURCE_OFFSET_HEADER]: header } };
      });
    const send = (messages: OutgoingRecord[]) => producer.send({ topic: topics.deliveries, messages });
    return { config, topics, admin, send, records, produced };
  }

  async function node(config: ReturnType<typeof loadEdgeConfig>, name: string, { fail }: { fail?: (n: number, origin: FeedOrigin) => boolean } = {}) {
    const registry = createRegistry(name, { defaults: false });
    const source: DeliverySource = kafkaDeliverySource({ ...config, EDGE_NODE_ID: uniqueName(name) }, { kafka });
    const got: { n: number; partition: number; offset: bigint; sourceOffset: bigint; after: FeedPosition }[] = [];
    const losses: number[] = [];
    await source.start({
      metrics: createEdgeMetrics(registry),
      logger: silentLogger,
      onEvent: (event, origin) => {
        if (fail?.((event.d as { n: number }).n, origin)) throw new NonRetriableError('the handler failed for good');
        // The position a checkpoint taken right after this event would store.
        const after = source.positions([origin.partition]).get(origin.partition)!;
        got.push({ n: (event.d as { n: number }).n, ...origin, after });
      },
      onLoss: ({ partition }) => void losses.push(partition),
      onFatal: () => {},
    });
    cleanups.push(() => source.stop());
    await source.ready();
    const on = (partition: number) => got.filter((g) => g.partition === partition);
    const ns = (partition: number) => on(partition).map((g) => g.n);
    return { source, registry, got, losses, on, ns };
  }

  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

  it('reads only the wanted partition: its records and about its share of the bytes, next to a node reading all', async () => {
    const { config, send, records, produced } = await feedTopic();
    const quarter = await node(config, 'edge-quarter');
    const all = await node(config, 'edge-all');
    expect(await quarter.source.want([0])).toEqual(new Map([[0, { offset: 0n, passed: -1n }]]));
    await all.source.want([0, 1, 2, 3]);
    for (let p = 0; p < PARTITIONS; p++) await send(records(p, 0, 100));
    await eventually('the node reading all to get 400', () => (all.got.length >= 400 ? true : undefined));
    await eventually('the quarter node to get 100', () => (quarter.got.length >= 100 ? true : undefined));

    const figures = {
      quarterRecords: quarter.got.length,
      allRecords: all.got.length,
      quarterBytes: await metricValue(quarter.registry, 'guildcast_edge_feed_bytes_total'),
      allBytes: await metricValue(all.registry, 'guildcast_edge_feed_bytes_total'),
      partition0Bytes: produced.get(0)!,
      producedBytes: [...produced.values()].reduce((a, b) => a + b, 0),
    };
    console.log('interest reading, 1 of 4 partitions (issue 13 item 2):', JSON.stringify({ ...figures, share: figures.quarterBytes / figures.allBytes }));
    expect(quarter.ns(0)).toEqual(range(0, 100));
    expect(quarter.got.every((g) => g.partition === 0)).toBe(true);
    for (let p = 0; p < PARTITIONS; p++) expect(all.ns(p)).toEqual(range(0, 100));
    expect(figures.quarterBytes).toBeGreaterThanOrEqual(figures.partition0Bytes);
    expect(figures.allBytes).toBeGreaterThanOrEqual(figures.producedBytes);
    expect(figures.quarterBytes / figures.allBytes).toBeLessThanOrEqual(0.3);
    expect(await metricValue(quarter.registry, 'guildcast_edge_feed_partitions')).toBe(1);
    expect(await metricValue(all.registry, 'guildcast_edge_feed_partitions')).toBe(4);
  });

  it('adds a partition while others are read without losing or repeating any of theirs', async () => {
    const { config, send, records } = await feedTopic();
    const reader = await node(config, 'edge-add');
    await reader.source.want([0, 1]);
    const rounds = 30;
    let added: Map<number, FeedPosition> | undefined;
    for (let round = 0; round < rounds; round++) {
      // Into every partition, the one not read yet too; the want lands mid-stream.
      await send([0, 1, 2].flatMap((p) => records(p, round * 10, 10)));
      if (round === 10) added = await reader.source.want([2]);
    }
    await eventually('every event of partitions 0 and 1', () => (reader.ns(0).length >= rounds * 10 && reader.ns(1).length >= rounds * 10 ? true : undefined));
    const start = added!.get(2)!;
    await eventually('partition 2 read up to its end', () => (reader.on(2).at(-1)?.offset === BigInt(rounds * 10 - 1) ? true : undefined));
    const figures = {
      p0: { got: reader.ns(0).length, unique: new Set(reader.ns(0)).size },
      p1: { got: reader.ns(1).length, unique: new Set(reader.ns(1)).size },
      p2: { from: String(start.offset), got: reader.ns(2).length },
    };
    console.log('want of a partition mid-stream (issue 13 item 2):', JSON.stringify(figures));
    expect(reader.ns(0)).toEqual(range(0, rounds * 10));
    expect(reader.ns(1)).toEqual(range(0, rounds * 10));
    // Partition 2 from exactly where its want said, nothing before it.
    expect(start.offset).toBeGreaterThanOrEqual(110n);
    // Source offsets run with the offsets here: the lookback passed all of them before the start.
    expect(start.passed).toBe(start.offset - 1n);
    expect(reader.on(2).map((g) => g.offset)).toEqual(range(Number(start.offset), rounds * 10 - Number(start.offset)).map(BigInt));
    // A second want of a partition being read does not move it.
    const again = (await reader.source.want([0])).get(0)!;
    expect(again.offset).toBe(BigInt(rounds * 10));
    expect(reader.losses).toEqual([]);
  });

  it('stops reading a released partition and starts a partition wanted again at its then-end', async () => {
    const { config, send, records } = await feedTopic();
    const reader = await node(config, 'edge-release');
    await reader.source.want([3]);
    await reader.source.want([0]);
    await send(records(3, 0, 10));
    await eventually('the first 10', () => (reader.ns(3).length >= 10 ? true : undefined));
    reader.source.release([3]);
    expect(reader.source.positions([3])).toEqual(new Map());
    await send(records(3, 10, 10));
    // A marker on the partition still read: by the time it arrives, a fetch after the release ran.
    await send(records(0, 0, 1));
    await eventually('the marker', () => (reader.ns(0).length >= 1 ? true : undefined));
    expect(await metricValue(reader.registry, 'guildcast_edge_feed_partitions')).toBe(1);
    const restarted = (await reader.source.want([3])).get(3)!;
    await send(records(3, 20, 10));
    await eventually('the last 10', () => (reader.ns(3).length >= 20 ? true : undefined));
    console.log('release then want (issue 13 item 2):', JSON.stringify({ restartedAt: String(restarted.offset), got: reader.ns(3) }));
    // The records before its end were read for their source offsets (the lookback) before the want resolved.
    expect(restarted).toEqual({ offset: 20n, passed: 19n });
    expect(reader.ns(3)).toEqual([...range(0, 10), ...range(20, 10)]);
  });

  it("drops fanout's redeliveries that straddle a partition's start: the records before its end count as passed", async () => {
    const { config, send, records } = await feedTopic();
    await send(records(2, 0, 30)); // source offsets 0..29
    // Fanout crashed after 29 and sends 25..29 again: three of them before this node starts reading.
    await send(records(2, 100, 3, (i) => 25 + i));
    const reader = await node(config, 'edge-lookback');
    const blind = await node({ ...config, EDGE_FEED_LOOKBACK: 0 }, 'edge-no-lookback');
    const [start, blindStart] = [(await reader.source.want([2])).get(2)!, (await blind.source.want([2])).get(2)!];
    await send([...records(2, 103, 2, (i) => 28 + i), ...records(2, 30, 5, (i) => 30 + i)]);
    await eventually('the new events', () => (reader.ns(2).length >= 5 && blind.ns(2).length >= 7 ? true : undefined));
    console.log('lookback at a partition start:', JSON.stringify({ start: String(start.offset), passed: String(start.passed), got: reader.ns(2), withoutLookback: blind.ns(2) }));
    expect(start).toEqual({ offset: 33n, passed: 29n });
    expect(reader.ns(2)).toEqual(range(30, 5));
    // Without it the node takes the last two redeliveries for new events.
    expect(blindStart).toEqual({ offset: 33n, passed: -1n });
    expect(blind.ns(2)).toEqual([103, 104, ...range(30, 5)]);
    expect(await metricValue(reader.registry, 'guildcast_edge_redeliveries_dropped_total')).toBe(2);
  });

  it('restores the wanted partitions on a rejoin and keeps the others paused, and serves a want made during it', async () => {
    const { config, topics, admin, send, records } = await feedTopic();
    let failed = false;
    const reader = await node(config, 'edge-rejoin', { fail: (n, origin) => origin.partition === 1 && n === 20 && !failed && (failed = true) });
    await reader.source.want([1]);
    // Records of the partitions not read, one of them losing its records meanwhile: neither reaches the node, nor counts as its loss.
    await send([0, 2, 3].flatMap((p) => records(p, 0, 10)));
    await admin.describeTopics([topics.deliveries]);
    await admin.deleteRecords(topics.deliveries, [{ partition: 3, offset: '10' }]);
    await send(records(1, 0, 40)); // the handler fails for good on 20: kafkajs gives up, the edge recreates the consumer
    await eventually('the consumer recreated', async () => ((await metricValue(reader.registry, 'guildcast_edge_consumer_restarts_total', { by: 'edge' })) >= 1 ? true : undefined));
    // Wanted while the new consumer joins (or just after): starts at the then-end all the same.
    const problemAtWant = reader.source.problem();
    const during = (await reader.source.want([2])).get(2)!;
    await send([...records(1, 40, 10), ...records(2, 10, 10), ...records(0, 10, 10)]);
    await eventually('partition 1 to 50', () => (reader.ns(1).length >= 50 ? true : undefined));
    await eventually('partition 2 from its want', () => (reader.ns(2).length >= 10 ? true : undefined));
    const figures = { p1: reader.ns(1).length, unique: new Set(reader.ns(1)).size, p2From: String(during.offset), others: reader.got.filter((g) => g.partition === 0 || g.partition === 3).length, losses: reader.losses, problemAtWant };
    console.log('rejoin with interest (issue 13 item 2):', JSON.stringify(figures));
    expect(reader.ns(1)).toEqual(range(0, 50));
    expect(during).toEqual({ offset: 10n, passed: 9n });
    expect(reader.ns(2)).toEqual(range(10, 10));
    expect(figures.others).toBe(0);
    expect(reader.losses).toEqual([]);
    expect(await metricValue(reader.registry, 'guildcast_edge_feed_partitions')).toBe(2);
  });

  it('replays exactly what the live path handed on after a checkpoint, redeliveries dropped, and fails once the range is gone', async () => {
    const { config, topics, admin, send, records } = await feedTopic();
    const live = await node(config, 'edge-live');
    await live.source.want([1, 2]);
    await send(records(1, 0, 20)); // source offsets 0..19
    await send(records(1, 100, 5, (i) => 15 + i)); // fanout redelivered source offsets 15..19
    await send([{ key: 'x', value: 'not an envelope', partition: 1, headers: { [SOURCE_OFFSET_HEADER]: '20' } }]);
    await send(records(1, 21, 10, (i) => 21 + i));
    await send(records(2, 0, 10));
    await eventually('the live events', () => (live.ns(1).length >= 30 && live.ns(2).length >= 10 ? true : undefined));
    expect(live.ns(1)).toEqual([...range(0, 20), ...range(21, 10)]);
    const end1 = live.source.positions([1]).get(1)!.offset;
    const end2 = live.source.positions([2]).get(2)!.offset;
    expect(end1).toBe(36n);

    // Another node, which never read these partitions live, serves RESUMEs from checkpoints.
    const other = await node(config, 'edge-replayer');
    const replayed = async (partition: number, from: FeedPosition, to: bigint) => {
      const out: { n: number; origin: FeedOrigin }[] = [];
      await other.source.replay(partition, from, to, (event, origin) => void out.push({ n: (event.d as { n: number }).n, origin }));
      return out;
    };
    const checkpoint = (partition: number, index: number) => live.on(partition)[index]!.after;
    const liveAfter = (partition: number, index: number) => live.on(partition).slice(index + 1);
    // Several at once, through one replay consumer: two starts on partition 1 (one inside the redeliveries), one on partition 2.
    const [fromFifth, fromEighteenth, onTwo] = await Promise.all([
      replayed(1, checkpoint(1, 4), end1),
      replayed(1, checkpoint(1, 17), end1),
      replayed(2, checkpoint(2, 2), end2),
    ]);
    const figures = {
      fromFifth: fromFifth.length,
      expected: liveAfter(1, 4).length,
      repeatedOrMissing: fromFifth.length - new Set(fromFifth.map((r) => r.n)).size,
      replayBytes: await metricValue(other.registry, 'guildcast_edge_replay_bytes_total'),
      otherFeedBytes: await metricValue(other.registry, 'guildcast_edge_feed_bytes_total'),
    };
    console.log('replay of a range (issue 13 item 3):', JSON.stringify(figures));
    expect(fromFifth.map((r) => r.n)).toEqual(liveAfter(1, 4).map((g) => g.n));
    expect(fromFifth.map((r) => r.origin)).toEqual(liveAfter(1, 4).map((g) => ({ partition: 1, offset: g.offset, sourceOffset: g.sourceOffset })));
    // What a replay passed (source offsets 21..30 came last) is what the session's live filter starts from.
    expect(await other.source.replay(1, checkpoint(1, 4), end1, () => {})).toBe(30n);
    expect(fromEighteenth.map((r) => r.n)).toEqual(liveAfter(1, 17).map((g) => g.n));
    expect(onTwo.map((r) => r.n)).toEqual(range(3, 7));
    // A range that ends before the log's end stops at `to`.
    expect((await replayed(1, checkpoint(1, 0), checkpoint(1, 3).offset)).map((r) => r.n)).toEqual([1, 2, 3]);
    expect(figures.replayBytes).toBeGreaterThan(0);
    expect(figures.otherFeedBytes).toBe(0);

    await admin.describeTopics([topics.deliveries]); // the admin's metadata must know the topic's leaders
    await admin.deleteRecords(topics.deliveries, [{ partition: 1, offset: '10' }]);
    await expect(replayed(1, checkpoint(1, 4), end1)).rejects.toBeInstanceOf(ReplayGoneError);
    expect((await replayed(1, checkpoint(1, 9), end1)).map((r) => r.n)).toEqual(liveAfter(1, 9).map((g) => g.n));
    expect(await metricValue(other.registry, 'guildcast_edge_feed_replays_total', { result: 'gone' })).toBe(1);
  });
});
