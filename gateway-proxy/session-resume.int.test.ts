import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { topicNames } from '../core/kafka/topics.ts';
import type { Producer } from '../core/kafka/types.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry, type Registry } from '../core/metrics.ts';
import { createGatewaySessionStore } from '../store/index.ts';
import type { CqlClient } from '../store/cql/client.ts';
import { dropKeyspace, eventually, testKafka, testKeyspace, uniqueName } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { createEdgeTopics, guildOnShard, messageEvent, metricValue, RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';
import type { SessionStore } from './session-store.ts';

const PARTITIONS = 4;

/**
 * Issue 13, item 3 against the real pieces: edge nodes reading one `deliveries` topic through the
 * Kafka source, sharing sessions in Cassandra. A session drained off one node resumes on another
 * with nothing lost or repeated; one whose node was closed without a last checkpoint resumes on a
 * third with nothing lost and the repeats the metric counts.
 */
describe('RESUME on any node over Kafka and Cassandra', () => {
  const kafka = testKafka();
  const prefix = uniqueName('edge-resume');
  let cql: CqlClient;
  let keyspace: string;
  let store: SessionStore;
  let producer: Producer;
  let sourceOffset = 0;
  let n = 0;
  const nodes: { edge: Edge; registry: Registry; closed: boolean }[] = [];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    ({ client: cql, keyspace } = await testKeyspace('edge_resume'));
    store = createGatewaySessionStore({ client: cql, keyspace, logger: silentLogger });
    const topics = topicNames(loadEdgeConfig({ KAFKA_TOPIC_PREFIX: prefix }));
    await createEdgeTopics(kafka, topics, PARTITIONS);
    producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const node of nodes) if (!node.closed) await node.edge.close().catch(() => {});
    await producer?.disconnect();
    await dropKeyspace(cql, keyspace);
  });

  async function node(id: string, checkpointMs = 200) {
    const config = loadEdgeConfig({
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: String(PARTITIONS),
      EDGE_PORT: '0',
      EDGE_HOST: '127.0.0.1',
      EDGE_NODE_ID: `${prefix}-${id}`,
      EDGE_TOKEN_SECRET: TEST_SECRET,
      EDGE_DRAIN_GRACE_MS: '2000',
      EDGE_SESSION_CHECKPOINT_MS: String(checkpointMs),
    });
    const registry = createRegistry(`edge-${id}`, { defaults: false });
    const edge = await startEdge(config, { logger: silentLogger, registry, kafka, sessionStore: store });
    await edge.ready();
    const entry = { edge, registry, closed: false };
    nodes.push(entry);
    return entry;
  }

  async function produce(guilds: string[], count: number): Promise<void> {
    const events: EventEnvelope[] = Array.from({ length: count }, (_, i) => messageEvent(guilds[i % guilds.length]!, ++n));
    await producer.send({
      topic: topicNames(loadEdgeConfig({ KAFKA_TOPIC_PREFIX: prefix })).deliveries,
      messages: events.map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e), headers: { [SOURCE_OFFSET_HEADER]: String(sourceOffset++) } })),
    });
  }

  async function connect(edge: Edge): Promise<RawClient> {
    const client = new RawClient(edge.nodeUrl);
    clients.push(client);
    await client.opened;
    return client;
  }

  const numbers = (client: RawClient) => client.dispatches('MESSAGE_CREATE').map((f) => f.d.n as number);
  function count(...of: RawClient[]) {
    const seen = new Map<number, number>();
    for (const client of of) for (const k of numbers(client)) seen.set(k, (seen.get(k) ?? 0) + 1);
    let lost = 0;
    let repeated = 0;
    for (let k = 1; k <= n; k++) {
      const times = seen.get(k) ?? 0;
      if (times === 0) lost++;
      else repeated += times - 1;
    }
    return { lost, repeated };
  }
  const allReceived = (...of: RawClient[]) => eventually(`all ${n} messages`, () => (count(...of).lost === 0 ? true : undefined), 60_000);

  it('drain on A, RESUME on B: 0 lost, 0 repeated; A closed without a last checkpoint, RESUME on C: 0 lost, repeats counted', async () => {
    // B checkpoints rarely, so that what it sent last is likely after its last checkpoint when it dies.
    const [a, b] = [await node('a'), await node('b', 3_000)];
    // Guilds on different partitions, so the replay covers more than one.
    const guilds = [guildOnShard(0, 1, 21), guildOnShard(0, 1, 22), guildOnShard(0, 1, 23)];
    const token = await tokens.mint({ guilds, ttlSeconds: 600 });
    const first = await connect(a.edge);
    first.identify(token);
    const ready = await first.ready();
    const sessionId = ready.d.session_id as string;
    await produce(guilds, 30);
    await allReceived(first);

    const drained = a.edge.drain();
    await eventually('op 7', () => first.frames.find((f) => f.op === 7), 30_000);
    await produce(guilds, 20);
    const seq = first.lastSeq()!;
    first.close();
    await drained;

    const second = await connect(b.edge);
    second.send({ op: 6, d: { token, session_id: sessionId, seq } });
    await eventually('RESUMED on B', () => second.dispatches('RESUMED')[0], 60_000);
    await produce(guilds, 10);
    await allReceived(first, second);
    expect(count(first, second)).toEqual({ lost: 0, repeated: 0 });
    expect(await metricValue(b.registry, 'guildcast_edge_resume_repeats_total')).toBe(0);
    expect(await metricValue(b.registry, 'guildcast_edge_resumes_by_path_total', { path: 'replayed' })).toBe(1);
    expect((await store.load(sessionId))?.node).toBe(`${prefix}-b`);
    a.closed = true;
    await a.edge.close();

    // B's checkpoints cover the first 60; the next ten reach the client and B dies, most likely before checkpointing them.
    await eventually('a periodic checkpoint on B', async () => ((await store.load(sessionId))?.checkpoints.at(-1)?.seq === second.lastSeq() ? true : undefined), 30_000);
    const c = await node('c');
    await produce(guilds, 10);
    await allReceived(first, second);
    const lastSeq = second.lastSeq()!;
    b.closed = true;
    await b.edge.close();
    await produce(guilds, 10);

    const third = await connect(c.edge);
    third.send({ op: 6, d: { token, session_id: sessionId, seq: lastSeq } });
    await eventually('RESUMED on C', () => third.dispatches('RESUMED')[0], 60_000);
    await produce(guilds, 5);
    await allReceived(first, second, third);
    const { lost, repeated } = count(first, second, third);
    expect(lost).toBe(0);
    expect(await metricValue(c.registry, 'guildcast_edge_resume_repeats_total')).toBe(repeated);
    console.info(`killed node: lost ${lost}, repeated ${repeated} (counted ${await metricValue(c.registry, 'guildcast_edge_resume_repeats_total')})`);
  });
});
