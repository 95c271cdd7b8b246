import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketShardEvents, type WebSocketManager } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { shardFor } from '../core/discord/shard.ts';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { topicNames } from '../core/kafka/topics.ts';
import type { Producer } from '../core/kafka/types.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry, type Registry } from '../core/metrics.ts';
import { createGatewaySessionStore } from '../store/index.ts';
import type { CqlClient } from '../store/cql/client.ts';
import { edgeGatewayClient } from '../test/discord-client.ts';
import { dropKeyspace, eventually, testKafka, testKeyspace, uniqueName } from '../test/support.ts';
import { TcpBalancer } from '../test/tcp-balancer.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { createEdgeTopics, guildOnShard, messageEvent, metricValue, TEST_SECRET, tokens } from './edge.test-support.ts';
import type { SessionStore } from './session-store.ts';

const PARTITIONS = 4;

interface Recorder {
  name: string;
  shard: readonly [number, number] | undefined;
  manager: WebSocketManager;
  /** Message numbers in arrival order. */
  received: number[];
  resumed: number;
  readies: number;
  /** The library's own account of what it did (printed for a client that lost anything). */
  debug: string[];
}

/**
 * Three edge nodes in this process behind a TCP balancer (the fleet URL), reading one deliveries
 * topic and sharing sessions in Cassandra, with unmodified @discordjs/ws clients (sharded and not)
 * under steady traffic. The busiest node is drained (as SIGTERM does: drain, then exit), then the
 * busiest other one is closed without any last checkpoint (as a crash leaves it). Every client
 * RESUMEs through the balancer; lost and repeated messages are counted per client.
 */
describe('an edge fleet behind a balancer: drain, then crash, under traffic', () => {
  const kafka = testKafka();
  const prefix = uniqueName('edge-fleet');
  const guilds = Array.from({ length: 8 }, (_, i) => guildOnShard(i % 2, 2, 300 + i));
  let cql: CqlClient;
  let keyspace: string;
  let store: SessionStore;
  let producer: Producer;
  let balancer: TcpBalancer;
  const backends: { host: string; port: number }[] = [];
  const nodes: { name: string; edge: Edge; registry: Registry; up: boolean }[] = [];
  const recorders: Recorder[] = [];
  const produced: EventEnvelope[] = [];
  let sourceOffset = 0;
  let traffic: NodeJS.Timeout | undefined;
  let sending: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    ({ client: cql, keyspace } = await testKeyspace('edge_fleet'));
    store = createGatewaySessionStore({ client: cql, keyspace, logger: silentLogger });
    const topics = topicNames(loadEdgeConfig({ KAFKA_TOPIC_PREFIX: prefix }));
    await createEdgeTopics(kafka, topics, PARTITIONS);
    producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();

    // The balancer first (every node hands its URL out as the fleet's); nodes join its list as they start.
    balancer = await new TcpBalancer(backends).start();
    const fleetPort = balancer.port;
    for (const name of ['a', 'b', 'c']) {
      const config = loadEdgeConfig({
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_EVENT_PARTITIONS: String(PARTITIONS),
        EDGE_PORT: '0',
        EDGE_HOST: '127.0.0.1',
        EDGE_NODE_ID: `${prefix}-${name}`,
        EDGE_TOKEN_SECRET: TEST_SECRET,
        EDGE_GATEWAY_URL: `ws://127.0.0.1:${fleetPort}`,
        EDGE_DRAIN_GRACE_MS: '3000',
        EDGE_SESSION_CHECKPOINT_MS: '500',
      });
      const registry = createRegistry(`edge-${name}`, { defaults: false });
      const edge = await startEdge(config, { logger: silentLogger, registry, kafka, sessionStore: store });
      await edge.ready();
      nodes.push({ name, edge, registry, up: true });
      backends.push({ host: '127.0.0.1', port: Number(new URL(edge.url).port) });
    }
  }, 240_000);

  afterAll(async () => {
    clearInterval(traffic);
    await Promise.allSettled(recorders.map((r) => r.manager.destroy()));
    for (const node of nodes) if (node.up) await node.edge.close().catch(() => {});
    await balancer?.close();
    await producer?.disconnect();
    await dropKeyspace(cql, keyspace);
  });

  function expectedFor(recorder: Recorder): number[] {
    return produced
      .filter((e) => !recorder.shard || shardFor(BigInt(e.guild_id!), recorder.shard[1]) === recorder.shard[0])
      .map((e) => (e.d as { n: number }).n);
  }

  function tally(recorder: Recorder) {
    const counts = new Map<number, number>();
    for (const n of recorder.received) counts.set(n, (counts.get(n) ?? 0) + 1);
    const expected = expectedFor(recorder);
    let lost = 0;
    let repeated = 0;
    for (const n of expected) {
      const times = counts.get(n) ?? 0;
      if (times === 0) lost++;
      else repeated += times - 1;
    }
    return { expected: expected.length, lost, repeated };
  }

  async function connect(name: string, shard?: readonly [number, number]): Promise<Recorder> {
    const token = await tokens.mint({ guilds, ttlSeconds: 3600 });
    const manager = edgeGatewayClient({ edgeBase: `http://127.0.0.1:${balancer.port}`, token, ...(shard ? { shard } : {}) });
    const recorder: Recorder = { name, shard, manager, received: [], resumed: 0, readies: 0, debug: [] };
    manager.on(WebSocketShardEvents.Debug, (message: string) => void recorder.debug.push(`${Date.now() % 100_000} ${message}`));
    manager.on(WebSocketShardEvents.SocketError, (error: Error) => void recorder.debug.push(`${Date.now() % 100_000} socket error: ${error.message}`));
    let ready = false;
    manager.on(WebSocketShardEvents.Dispatch, (payload: GatewayDispatchPayload) => {
      if (payload.t === 'MESSAGE_CREATE') recorder.received.push((payload.d as unknown as { n: number }).n);
    });
    manager.on(WebSocketShardEvents.Ready, () => {
      ready = true;
      recorder.readies++;
    });
    manager.on(WebSocketShardEvents.Resumed, () => void recorder.resumed++);
    await manager.connect();
    await eventually(`${name} READY`, () => (ready ? true : undefined), 30_000);
    recorders.push(recorder);
    return recorder;
  }

  let n = 0;
  function startTraffic(): void {
    traffic = setInterval(() => {
      const batch = Array.from({ length: 4 }, () => messageEvent(guilds[n % guilds.length]!, ++n));
      produced.push(...batch);
      sending = sending.then(() =>
        producer.send({
          topic: topicNames(loadEdgeConfig({ KAFKA_TOPIC_PREFIX: prefix })).deliveries,
          messages: batch.map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e), headers: { [SOURCE_OFFSET_HEADER]: String(sourceOffset++) } })),
        }),
      );
    }, 25);
  }

  async function stopTrafficAndSettle(): Promise<void> {
    clearInterval(traffic);
    await sending;
    await eventually('every client caught up', () => (recorders.every((r) => tally(r).lost === 0) ? true : undefined), 60_000).catch(() => undefined);
  }

  /**
   * Takes a node out of the balancer. Left in, a dead node is retried: TcpBalancer's round robin
   * is shared by concurrent connections, so one of several clients reconnecting at once can be
   * sent to the dead node twice and dropped ("socket hang up"), which @discordjs/ws answers by
   * dropping its session.
   */
  function unbalance(edge: Edge): void {
    const port = Number(new URL(edge.url).port);
    const index = backends.findIndex((b) => b.port === port);
    if (index >= 0) backends.splice(index, 1);
  }

  async function busiest(candidates: typeof nodes) {
    let best = candidates[0]!;
    let most = -1;
    for (const node of candidates) {
      const connected = await metricValue(node.registry, 'guildcast_edge_sessions', { state: 'connected' });
      if (connected > most) [best, most] = [node, connected];
    }
    return { node: best, sessions: most };
  }

  const receivingAfter = async (mark: number, what: string) => {
    const counts = recorders.map((r) => r.received.length);
    await eventually(what, () => (recorders.every((r, i) => r.received.length > counts[i]! + 5) ? true : undefined), 60_000);
    void mark;
  };

  it('drained node: 0 lost, 0 repeated at every client; crashed node: 0 lost, repeats as counted', { timeout: 300_000 }, async () => {
    for (const [name, shard] of [['unsharded-1', undefined], ['unsharded-2', undefined], ['shard-0/2', [0, 2]], ['shard-1/2', [1, 2]], ['unsharded-3', undefined], ['shard-0/2-b', [0, 2]]] as const)
      await connect(name, shard);
    startTraffic();
    await receivingAfter(0, 'every client receiving');

    const drained = await busiest(nodes);
    expect(drained.sessions).toBeGreaterThan(0);
    // SIGTERM: drain (a draining node still takes connections, as a plain TCP balancer keeps
    // picking it), then exit; the balancer stops picking it once it is gone.
    await drained.node.edge.drain();
    drained.node.up = false;
    await drained.node.edge.close();
    unbalance(drained.node.edge);
    await receivingAfter(1, 'every client receiving after the drain');
    const afterDrain = recorders.map((r) => ({ name: r.name, ...tally(r) }));

    const killed = await busiest(nodes.filter((node) => node.up));
    expect(killed.sessions).toBeGreaterThan(0);
    killed.node.up = false;
    // As SIGKILL: the port stops taking connections at the instant the sessions die (closing in
    // this process leaves a moment where upgrades are refused, which @discordjs/ws answers by
    // dropping its session).
    unbalance(killed.node.edge);
    await killed.node.edge.close();
    await receivingAfter(2, 'every client receiving after the crash');
    await stopTrafficAndSettle();

    const final = recorders.map((r) => ({ name: r.name, resumed: r.resumed, readies: r.readies, ...tally(r) }));
    for (const r of recorders) if (tally(r).lost > 0) console.info(`${r.name} lost; its library's log:\n${r.debug.slice(-60).join('\n')}`);
    let counted = 0;
    for (const node of nodes) counted += await metricValue(node.registry, 'guildcast_edge_resume_repeats_total');
    console.info(`drain: ${JSON.stringify(afterDrain)}\nfinal: ${JSON.stringify(final)}\nrepeats counted: ${counted}`);

    // The drain repeated nothing anywhere (repeats seen by then all stand at 0).
    expect(afterDrain.map((r) => r.repeated)).toEqual(afterDrain.map(() => 0));
    expect(final.map((r) => r.lost)).toEqual(final.map(() => 0));
    // Every session of the drained and the killed node was resumed, none identified again.
    expect(final.reduce((sum, r) => sum + r.resumed, 0)).toBe(drained.sessions + killed.sessions);
    expect(final.map((r) => r.readies)).toEqual(final.map(() => 1));
    // Every repeat a client saw was counted (the count also includes RESUMED frames after the checkpoint).
    expect(final.reduce((sum, r) => sum + r.repeated, 0)).toBeLessThanOrEqual(counted);
  });
});
