import { WebSocket } from 'ws';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { serializeEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import type { KafkaClient, Producer } from '../core/kafka/types.ts';
import { ensureTopics, topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry, type Registry } from '../core/metrics.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { startEdge, type Edge } from './edge.ts';
import { createTokenSigner } from './tokens.ts';

export const TEST_SECRET = 'edge-integration-test-secret';
export const tokens = createTokenSigner(TEST_SECRET);

/** A guild id on shard `shard` of `count` (Discord's formula), distinct per `n`. */
export function guildOnShard(shard: number, count: number, n: number): string {
  return String((BigInt(1_000_000 + n * count + shard) << 22n) | 7n);
}

export function messageEvent(guildId: string, n: number, extra: Record<string, unknown> = {}): EventEnvelope {
  return {
    v: 1,
    id: `test:${guildId}:${n}`,
    type: 'MESSAGE_CREATE',
    guild_id: guildId,
    channel_id: guildId,
    source: 'http',
    received_at: Date.now(),
    trace_id: `t-${n}`,
    d: { id: String(n), guild_id: guildId, channel_id: guildId, content: `message ${n}`, n, ...extra },
  };
}

export interface TestEdge {
  edge: Edge;
  registry: Registry;
  /** Produces envelopes to the deliveries topic, each with the next source offset. */
  produce(events: EventEnvelope[]): Promise<void>;
  /** Produces raw records (for the dead-letter path). */
  produceRaw(records: { key: string; value: string; headers?: Record<string, string> }[]): Promise<void>;
  topics: ReturnType<typeof topicNames>;
  close(): Promise<void>;
}

/** The topics an edge reads and writes (deliveries with `partitions`, dead letters), created and served. */
export async function createEdgeTopics(kafka: KafkaClient, topics: Pick<ReturnType<typeof topicNames>, 'deliveries' | 'deadLetter'>, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      { name: topics.deliveries, partitions, retentionMs: 3_600_000 },
      { name: topics.deadLetter, partitions: 1, retentionMs: 3_600_000 },
    ]);
  } finally {
    await admin.disconnect();
  }
}

/** An edge on an ephemeral port reading its own deliveries topic. */
export async function startTestEdge(env: Record<string, string> = {}): Promise<TestEdge> {
  const prefix = uniqueName('edge');
  const config = loadEdgeConfig({
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_EVENT_PARTITIONS: '4',
    EDGE_PORT: '0',
    EDGE_HOST: '127.0.0.1',
    EDGE_NODE_ID: prefix,
    EDGE_TOKEN_SECRET: TEST_SECRET,
    EDGE_DRAIN_GRACE_MS: '500',
    ...env,
  });
  const topics = topicNames(config);
  const kafka = testKafka();
  await createEdgeTopics(kafka, topics, 4);
  const registry = createRegistry('edge-test', { defaults: false });
  const edge = await startEdge(config, { logger: silentLogger, registry, kafka });
  await edge.ready();
  const producer: Producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
  await producer.connect();
  let sourceOffset = 0;
  return {
    edge,
    registry,
    topics,
    async produce(events) {
      await producer.send({
        topic: topics.deliveries,
        messages: events.map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e), headers: { [SOURCE_OFFSET_HEADER]: String(sourceOffset++) } })),
      });
    },
    async produceRaw(records) {
      await producer.send({ topic: topics.deliveries, messages: records });
    },
    async close() {
      await producer.disconnect();
      await edge.close();
    },
  };
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export interface GatewayFrame {
  op: number;
  d: any;
  s: number | null;
  t: string | null;
}

/** A plain websocket client that records every frame and how the edge closed it. */
export class RawClient {
  readonly frames: GatewayFrame[] = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  private heartbeat: NodeJS.Timeout | undefined;

  /** `heartbeat: false` makes a zombie: it never answers HELLO's interval. */
  constructor(gatewayUrl: string, { query = 'v=10&encoding=json', heartbeat = true } = {}) {
    this.ws = new WebSocket(`${gatewayUrl}/?${query}`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as GatewayFrame;
      this.frames.push(frame);
      if (frame.op === 10 && heartbeat) {
        // Twice as often as asked: a loaded test machine must not turn this client into a zombie.
        this.heartbeat = setInterval(() => this.send({ op: 1, d: this.lastSeq() }), frame.d.heartbeat_interval / 2);
      }
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      clearInterval(this.heartbeat);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  identify(token: string, d: Record<string, unknown> = {}): void {
    this.send({ op: 2, d: { token, intents: (1 << 9) | (1 << 15) | 1, properties: { os: 'linux', browser: 'test', device: 'test' }, ...d } });
  }

  lastSeq(): number | null {
    return this.dispatches().at(-1)?.s ?? null;
  }

  dispatches(type?: string): GatewayFrame[] {
    return this.frames.filter((f) => f.op === 0 && (type === undefined || f.t === type));
  }

  async ready(): Promise<GatewayFrame> {
    return eventually('READY', () => this.dispatches('READY')[0], 30_000);
  }

  async closed(): Promise<number> {
    return eventually('the edge to close the connection', () => this.closeCode, 30_000);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.ws.terminate();
  }
}
