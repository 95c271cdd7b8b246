import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { guildOnShard, messageEvent, RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';
import { ReplayGoneError } from './delivery-source.ts';
import { MemoryDeliverySource } from './memory-delivery-source.ts';
import { createEdgeMetrics } from './metrics.ts';
import { partitionForKey } from '../core/events/partition.ts';

/** The edge fed through its DeliverySource seam with no broker: what unit tests of the connection logic build on. */
describe('the edge on an in-memory delivery source', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function edgeOnMemory() {
    const source = new MemoryDeliverySource();
    const fatal: Error[] = [];
    const config = loadEdgeConfig({ KAFKA_EVENT_PARTITIONS: '4', EDGE_PORT: '0', EDGE_HOST: '127.0.0.1', EDGE_TOKEN_SECRET: TEST_SECRET, EDGE_DRAIN_GRACE_MS: '50' });
    const edge: Edge = await startEdge(config, {
      logger: silentLogger,
      registry: createRegistry('edge-memory', { defaults: false }),
      deliveries: source,
      fatal: (reason) => void fatal.push(reason),
    });
    cleanups.push(() => edge.close());
    await edge.ready();
    return { edge, source, fatal };
  }

  async function client(edge: Edge, guilds: string[]) {
    const c = new RawClient(edge.gatewayUrl);
    cleanups.push(() => c.close());
    await c.opened;
    c.identify(await tokens.mint({ guilds, ttlSeconds: 600 }));
    await c.ready();
    return c;
  }

  it('delivers pushed events, in order, to the sessions of their guild only', async () => {
    const { edge, source } = await edgeOnMemory();
    const [mine, other] = [guildOnShard(1, 4, 1), guildOnShard(2, 4, 2)];
    const reader = await client(edge, [mine]);
    const bystander = await client(edge, [other]);
    for (let n = 1; n <= 5; n++) source.push(messageEvent(mine, n));
    await eventually('five messages', () => (reader.dispatches('MESSAGE_CREATE').length >= 5 ? true : undefined), 10_000);
    expect(reader.dispatches('MESSAGE_CREATE').map((f) => f.d.n)).toEqual([1, 2, 3, 4, 5]);
    expect(bystander.dispatches('MESSAGE_CREATE')).toEqual([]);
  });

  it('sends op 9 to the sessions reading a partition whose deliveries were lost, and no one else', async () => {
    const { edge, source } = await edgeOnMemory();
    const [lost, kept] = [guildOnShard(1, 4, 3), guildOnShard(2, 4, 4)];
    const victim = await client(edge, [lost]);
    const bystander = await client(edge, [kept]);
    source.lose({ partition: 1, partitions: 4, records: 7n });
    const invalid = await eventually('op 9', () => victim.frames.find((f) => f.op === 9), 10_000);
    expect(invalid.d).toBe(false);
    expect(bystander.frames.some((f) => f.op === 9)).toBe(false);
  });

  it("reports the source's problem as the feed problem, and its fatal end to the host", async () => {
    const { edge, source, fatal } = await edgeOnMemory();
    expect(edge.feedProblem()).toBeUndefined();
    source.fail('stalled for a test');
    expect(edge.feedProblem()).toBe('stalled for a test');
    source.fail('gone for good', { fatal: true });
    expect(fatal.map((e) => e.message)).toEqual(['gone for good']);
    source.fail(undefined);
    expect(edge.feedProblem()).toBeUndefined();
  });
});

/** The in-memory source's own contract (want/release, positions, replay), as the Kafka source keeps it. */
describe('MemoryDeliverySource', () => {
  type Got = { n: unknown; partition: number; offset: bigint };
  async function started(partitions = 4) {
    const source = new MemoryDeliverySource({ partitions });
    const got: Got[] = [];
    const losses: { partition: number; records: bigint }[] = [];
    let failNext = false;
    await source.start({
      metrics: createEdgeMetrics(createRegistry('memory-source', { defaults: false })),
      logger: silentLogger,
      onEvent: (event, origin) => {
        if (failNext) {
          failNext = false;
          throw new Error('handler failed');
        }
        got.push({ n: (event.d as { n: unknown }).n, ...origin });
      },
      onLoss: ({ partition, records }) => void losses.push({ partition, records }),
      onFatal: () => {},
    });
    return { source, got, losses, failOnce: () => (failNext = true) };
  }
  const guild = guildOnShard(1, 4, 9);
  const at = (partition: number, n: number) => [messageEvent(guild, n), { partition }] as const;

  it('places pushed events as fanout does, and hands on only those of wanted partitions', async () => {
    const { source, got } = await started();
    expect(source.partitionCount()).toBe(4);
    const first = source.push(messageEvent(guild, 1));
    expect(first).toEqual({ partition: partitionForKey(guild, 4), offset: 0n, sourceOffset: 0n });
    expect(got).toEqual([]);
    expect(source.positions([first.partition])).toEqual(new Map());

    const wanted = await source.want([first.partition]);
    // Starts at the end: the record pushed before the want is not handed on, but the log kept it, and its source offset counts as passed (the lookback).
    expect(wanted).toEqual(new Map([[first.partition, { offset: 1n, passed: 0n }]]));
    source.push(messageEvent(guild, 2));
    source.push(...at((first.partition + 1) % 4, 3));
    expect(got).toEqual([{ n: 2, partition: first.partition, offset: 1n, sourceOffset: 1n }]);
    expect(source.positions([0, 1, 2, 3])).toEqual(new Map([[first.partition, { offset: 2n, passed: 1n }]]));
    expect(source.bounds((first.partition + 1) % 4)).toEqual({ start: 0n, end: 1n });
  });

  it('counts wants per partition: the last release stops reading, and the next want starts at the then-end', async () => {
    const { source, got } = await started();
    await source.want([2]);
    await source.want([2, 3]);
    source.push(...at(2, 1));
    source.release([2]);
    source.push(...at(2, 2));
    // A second want of a partition being read does not move it.
    expect((await source.want([2])).get(2)).toEqual({ offset: 2n, passed: 1n });
    source.release([2]);
    source.release([2]);
    source.push(...at(2, 3));
    source.push(...at(2, 4));
    expect(source.positions([2])).toEqual(new Map());
    expect((await source.want([2])).get(2)).toEqual({ offset: 4n, passed: 3n });
    source.push(...at(2, 5));
    expect(got.map((g) => g.n)).toEqual([1, 2, 5]);
    expect(() => source.release([3, 3, 1])).toThrow(/partition 1 released more often than wanted/);
    // The failed call changed nothing: 3 is still read.
    expect(source.positions([3]).get(3)).toEqual({ offset: 0n, passed: -1n });
    await expect(source.want([4])).rejects.toThrow(RangeError);
  });

  it('drops redeliveries and invalid records on the live path, by source offset', async () => {
    const { source, got } = await started();
    await source.want([0]);
    source.push(messageEvent(guild, 1), { partition: 0, sourceOffset: 10n });
    source.push(messageEvent(guild, 2), { partition: 0, sourceOffset: 10n });
    source.pushInvalid({ partition: 0, sourceOffset: 11n });
    source.push(messageEvent(guild, 3), { partition: 0, sourceOffset: 9n });
    source.push(messageEvent(guild, 4), { partition: 0 });
    expect(got.map((g) => [g.n, g.offset])).toEqual([
      [1, 0n],
      [4, 4n],
    ]);
    expect(source.positions([0]).get(0)).toEqual({ offset: 5n, passed: 12n });
  });

  it("drops fanout's redeliveries that straddle a partition's start: the lookback's source offsets count as passed", async () => {
    const { source, got } = await started();
    for (let n = 0; n < 10; n++) source.push(messageEvent(guild, n), { partition: 0, sourceOffset: BigInt(n) });
    // Fanout crashed and is sending 6..9 again: two of them are in the log when the partition starts being read.
    source.push(messageEvent(guild, 6), { partition: 0, sourceOffset: 6n });
    source.push(messageEvent(guild, 7), { partition: 0, sourceOffset: 7n });
    expect((await source.want([0])).get(0)).toEqual({ offset: 12n, passed: 9n });
    for (const n of [8, 9, 10, 11]) source.push(messageEvent(guild, n), { partition: 0, sourceOffset: BigInt(n) });
    expect(got.map((g) => g.n)).toEqual([10, 11]);

    // Without a lookback the new reader takes 8 and 9 for new events.
    const blind = new MemoryDeliverySource({ partitions: 1, lookback: 0 });
    const seen: unknown[] = [];
    await blind.start({
      metrics: createEdgeMetrics(createRegistry('memory-source-blind', { defaults: false })),
      logger: silentLogger,
      onEvent: (event) => void seen.push((event.d as { n: unknown }).n),
      onLoss: () => {},
      onFatal: () => {},
    });
    blind.push(messageEvent(guild, 9), { sourceOffset: 9n, partition: 0 });
    await blind.want([0]);
    blind.push(messageEvent(guild, 8), { sourceOffset: 8n, partition: 0 });
    expect(seen).toEqual([8]);
  });

  it('offers a record whose handler threw again, and only it', async () => {
    const { source, got, failOnce } = await started();
    await source.want([1]);
    source.push(...at(1, 1));
    failOnce();
    expect(() => source.push(...at(1, 2))).toThrow('handler failed');
    expect(source.positions([1]).get(1)).toEqual({ offset: 1n, passed: 0n });
    source.flush();
    source.push(...at(1, 3));
    expect(got.map((g) => g.n)).toEqual([1, 2, 3]);
  });

  it('replays [from, to) with redeliveries dropped, waits for records up to `to`, and fails below the log start', async () => {
    const { source, got, losses } = await started();
    await source.want([3]);
    for (let n = 0; n < 5; n++) source.push(...at(3, n));
    // Fanout redelivered source offsets 3 and 4 after a crash, then went on.
    source.push(messageEvent(guild, 30), { partition: 3, sourceOffset: 3n });
    source.push(messageEvent(guild, 5), { partition: 3, sourceOffset: 5n });
    const replayed: Got[] = [];
    const collect = (event: { d: unknown }, origin: { partition: number; offset: bigint }) => void replayed.push({ n: (event.d as { n: unknown }).n, ...origin });

    // Resolves with what it passed: a live record at or below it is a redelivery for the replayed session.
    expect(await source.replay(3, { offset: 2n, passed: 1n }, 7n, collect)).toBe(5n);
    expect(replayed.map((r) => [r.n, r.offset])).toEqual([
      [2, 2n],
      [3, 3n],
      [4, 4n],
      [5, 6n],
    ]);
    // What the live path handed on is the same list from offset 2 on.
    expect(got.filter((g) => g.offset >= 2n).map((g) => g.n)).toEqual([2, 3, 4, 5]);

    replayed.length = 0;
    const pending = source.replay(3, { offset: 6n, passed: 4n }, 9n, collect);
    source.push(...at(3, 6));
    expect(replayed.map((r) => r.n)).toEqual([]); // served after the call returned
    await Promise.resolve();
    source.push(...at(3, 7));
    expect(await pending).toBe(7n);
    expect(replayed.map((r) => r.n)).toEqual([5, 6, 7]);

    source.trim(3, 4n);
    expect(losses).toEqual([]); // the live position was past it
    await expect(source.replay(3, { offset: 3n, passed: -1n }, 5n, collect)).rejects.toThrow(ReplayGoneError);
    await expect(source.replay(3, { offset: 6n, passed: -1n }, 5n, collect)).rejects.toThrow(RangeError);
    await expect(source.replay(3, { offset: 4n, passed: -1n }, 4n, collect)).resolves.toBe(-1n);
  });

  it('counts the event being handled as handled in positions() called from its handler', async () => {
    const source = new MemoryDeliverySource({ partitions: 2 });
    const seen: unknown[] = [];
    await source.start({
      metrics: createEdgeMetrics(createRegistry('memory-source-inside', { defaults: false })),
      logger: silentLogger,
      onEvent: (_event, origin) => void seen.push([origin.offset, source.positions([origin.partition]).get(origin.partition)]),
      onLoss: () => {},
      onFatal: () => {},
    });
    await source.want([1]);
    source.push(messageEvent(guild, 1), { partition: 1, sourceOffset: 7n });
    expect(seen).toEqual([[0n, { offset: 1n, passed: 7n }]]);
  });

  it('reports a read position that trimming passed as a loss', async () => {
    const { source, losses, failOnce } = await started();
    await source.want([0]);
    failOnce();
    expect(() => source.push(...at(0, 1))).toThrow('handler failed');
    failOnce();
    expect(() => source.pushInvalid({ partition: 0 })).toThrow('handler failed');
    source.trim(0, 2n);
    expect(losses).toEqual([{ partition: 0, records: 2n }]);
    expect(source.positions([0]).get(0)).toEqual({ offset: 2n, passed: -1n });
  });
});
