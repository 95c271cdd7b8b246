import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { guildOnShard, messageEvent, RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';
import { MemoryDeliverySource } from './memory-delivery-source.ts';

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
