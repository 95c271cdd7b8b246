import { serializeEnvelope, type EventEnvelope } from '../../core/events/envelope.ts';
import { partitionForKey, shardFor } from '../../core/events/partition.ts';
import { createKafka } from '../../core/kafka/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { SOURCE_OFFSET_HEADER } from '../../core/kafka/headers.ts';
import { ensureTopics, topicNames } from '../../core/kafka/topics.ts';
import type { OutgoingRecord } from '../../core/kafka/types.ts';
import { createLogger } from '../../core/logger.ts';
import { createRegistry, type Registry } from '../../core/metrics.ts';
import { loadEdgeConfig } from '../../gateway-proxy/config.ts';
import { startEdge, type Edge } from '../../gateway-proxy/edge.ts';
import { createTokenSigner } from '../../gateway-proxy/tokens.ts';
import type { BenchResult } from '../kit/report.ts';
import { InterestClient } from './interest-client.ts';

export interface InterestBenchOptions {
  /** Partitions of the deliveries topic; must be a multiple of `shardCount`. */
  partitions: number;
  /** Node A's sessions are bot shard [shard, shardCount]: a 1/shardCount of the shards. */
  shardCount: number;
  shard: number;
  /** Open-loop producer rate, records per second, for `seconds`. */
  rate: number;
  seconds: number;
  guilds: number;
  contentBytes: { min: number; max: number };
}

export const interestDefaults: InterestBenchOptions = {
  partitions: 12,
  shardCount: 4,
  // Not shard 0: a "*" session on shard 0 also gets events without a guild, which can be on any partition, so it reads all.
  shard: 1,
  rate: 1000,
  seconds: 30,
  guilds: 1000,
  contentBytes: { min: 20, max: 400 },
};

const SECRET = 'guildcast-bench-interest-secret';

/**
 * `edge-interest` (issue 13, "read only what sessions need"): two edge nodes read the same
 * deliveries topic in one run. Node A holds a session of shard [i, n] (n dividing the partitions:
 * it needs P/n of them), node B an unsharded one (all partitions). A producer writes messages of
 * many guilds at a fixed rate; the figure is the deliveries bytes each node fetched
 * (`guildcast_edge_feed_bytes_total` from its own registry) and A's share of B's, next to the
 * records each consumed and every client's missing, repeated and misrouted messages.
 */
export async function runInterestBench(o: InterestBenchOptions): Promise<BenchResult> {
  if (o.partitions % o.shardCount !== 0) throw new Error(`edge-interest: --partitions (${o.partitions}) must be a multiple of the shard count (${o.shardCount})`);
  const logger = createLogger('bench-edge-interest', { level: process.env.LOG_LEVEL ?? 'warn' });
  const run = Date.now().toString(36);
  const prefix = `bench-interest-${run}`;
  const kafkaConfig = { ...loadKafkaConfig(), KAFKA_CLIENT_ID: 'guildcast-bench-interest' };
  const kafka = createKafka(kafkaConfig, logger);
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { name: topics.deliveries, partitions: o.partitions, retentionMs: 3_600_000 },
    { name: topics.deadLetter, partitions: 1, retentionMs: 3_600_000 },
  ]);

  const nodes: { name: string; edge: Edge; registry: Registry }[] = [];
  const clients: InterestClient[] = [];
  const producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
  try {
    for (const name of ['A', 'B']) {
      const config = loadEdgeConfig({
        ...process.env,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_EVENT_PARTITIONS: String(o.partitions),
        EDGE_PORT: '0',
        EDGE_HOST: '127.0.0.1',
        EDGE_NODE_ID: `${prefix}-${name}`,
        EDGE_TOKEN_SECRET: SECRET,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      });
      const registry = createRegistry(`edge-${name}`, { defaults: false });
      // No guildStates, no sessionStore: the feed alone is what is measured.
      const edge = await startEdge(config, { logger: logger.child({ node: name }), registry, kafka });
      await edge.ready();
      nodes.push({ name, edge, registry });
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const token = await createTokenSigner(SECRET).mint({ guilds: '*', ttlSeconds: 3600 });
    const shard = [o.shard, o.shardCount] as const;
    const clientA = new InterestClient(a.edge.nodeUrl, token, shard);
    const clientB = new InterestClient(b.edge.nodeUrl, token);
    clients.push(clientA, clientB);
    // READY comes after the node's want of the session's partitions took effect: from here on nothing may be missed.
    await withTimeout(Promise.all([clientA.ready, clientB.ready]), 30_000, 'READY of both sessions');
    const partitionsRead = { A: await metricValue(a.registry, 'guildcast_edge_feed_partitions'), B: await metricValue(b.registry, 'guildcast_edge_feed_partitions') };

    // Guild ids spread evenly over the partitions and shards (7919 is prime to any partition count used).
    const guilds = Array.from({ length: o.guilds }, (_, i) => String(((1_000_000n + BigInt(i) * 7919n) << 22n) | BigInt(i % 4096)));
    const guildOf = (n: number) => guilds[n % guilds.length]!;
    const onShardA = (n: number) => shardFor(BigInt(guildOf(n)), o.shardCount) === o.shard;
    const producedBytes = new Array<number>(o.partitions).fill(0);
    const record = (n: number): OutgoingRecord => {
      const guild = guildOf(n);
      const channel = guild;
      const span = o.contentBytes.max - o.contentBytes.min + 1;
      const event: EventEnvelope = {
        v: 1,
        id: `bench:${run}:${n}`,
        type: 'MESSAGE_CREATE',
        guild_id: guild,
        channel_id: channel,
        source: 'gateway',
        received_at: Date.now(),
        trace_id: `bench-${n}`,
        d: { id: String(n), guild_id: guild, channel_id: channel, content: 'x'.repeat(o.contentBytes.min + ((n * 7_919) % span)), n },
      };
      const value = serializeEnvelope(event);
      const header = String(n); // the source offset: rises on every partition
      producedBytes[partitionForKey(guild, o.partitions)]! += Buffer.byteLength(guild) + Buffer.byteLength(value) + SOURCE_OFFSET_HEADER.length + header.length;
      return { key: guild, value, headers: { [SOURCE_OFFSET_HEADER]: header } };
    };

    await producer.connect();
    const started = performance.now();
    let sent = 0;
    const timeline: { t: number; [series: string]: number }[] = [];
    let last = { t: started, a: 0, b: 0 };
    const sampler = setInterval(() => {
      void (async () => {
        const now = performance.now();
        const fa = await metricValue(a.registry, 'guildcast_edge_feed_bytes_total');
        const fb = await metricValue(b.registry, 'guildcast_edge_feed_bytes_total');
        const dt = (now - last.t) / 1000;
        timeline.push({ t: Math.round((now - started) / 100) / 10, 'node A feed KiB/s': (fa - last.a) / 1024 / dt, 'node B feed KiB/s': (fb - last.b) / 1024 / dt });
        process.stderr.write(`[edge-interest ${Math.round((now - started) / 1000)}s] sent ${sent}  A got ${clientA.received.length}  B got ${clientB.received.length}  feed A/B ${fb > 0 ? ((fa / fb) * 100).toFixed(1) : '-'}%\n`);
        last = { t: now, a: fa, b: fb };
      })();
    }, 1000);
    // Open loop: record n is due at start + n / rate; a slow send makes the next tick send more, not fewer.
    const total = o.rate * o.seconds;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * o.rate));
      if (due > sent) {
        const batch = Array.from({ length: due - sent }, (_, i) => record(sent + i));
        sent = due;
        await producer.send({ topic: topics.deliveries, messages: batch });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const sendSeconds = (performance.now() - started) / 1000;
    const expectedA = Array.from({ length: total }, (_, n) => n).filter(onShardA).length;
    // Settle: every client has what it should, or 30 s passed (then the shortfall is reported as missing).
    const settleUntil = Date.now() + 30_000;
    while (Date.now() < settleUntil && (new Set(clientA.received).size < expectedA || new Set(clientB.received).size < total)) await new Promise((r) => setTimeout(r, 200));
    clearInterval(sampler);

    const figures = async (node: (typeof nodes)[0]) => ({
      feedBytes: await metricValue(node.registry, 'guildcast_edge_feed_bytes_total'),
      recordsConsumed: await metricValue(node.registry, 'guildcast_edge_records_consumed_total'),
      eventsDelivered: await metricValue(node.registry, 'guildcast_edge_events_delivered_total'),
      partitionsRead: await metricValue(node.registry, 'guildcast_edge_feed_partitions'),
    });
    const fa = await figures(a);
    const fb = await figures(b);
    const check = (client: InterestClient, wanted: (n: number) => boolean, expected: number) => {
      const got = new Set(client.received);
      let missing = 0;
      for (let n = 0; n < total; n++) if (wanted(n) && !got.has(n)) missing++;
      return { expected, received: client.received.length, missing, repeated: client.received.length - got.size, misrouted: [...got].filter((n) => !wanted(n)).length, closeCode: client.closeCode ?? null };
    };
    const deliveredA = check(clientA, onShardA, expectedA);
    const deliveredB = check(clientB, () => true, total);
    const wantedPartitions = Array.from({ length: o.partitions }, (_, p) => p).filter((p) => p % o.shardCount === o.shard);
    const producedTotal = producedBytes.reduce((x, y) => x + y, 0);
    const producedA = wantedPartitions.reduce((x, p) => x + producedBytes[p]!, 0);
    const share = fb.feedBytes > 0 ? fa.feedBytes / fb.feedBytes : Number.NaN;
    const rows = [
      { node: `A: shard [${o.shard}, ${o.shardCount}]`, ...fa, shareOfB: share, client: deliveredA },
      { node: 'B: unsharded', ...fb, shareOfB: 1, client: deliveredB },
    ];
    process.stderr.write(`\n${interestTable(rows)}\n`);

    return {
      scenario: 'edge-interest',
      config: { ...o, prefix, kafkaClient: kafkaConfig.KAFKA_CLIENT, sendSeconds, records: total },
      top: {
        partitions: o.partitions,
        shard: [o.shard, o.shardCount],
        records: total,
        feed_bytes_a: fa.feedBytes,
        feed_bytes_b: fb.feedBytes,
        share_a_of_b: share,
        target_share_max: 0.3,
        missing: deliveredA.missing + deliveredB.missing,
      },
      stages: [
        { stage: `node A (shard [${o.shard}, ${o.shardCount}]) deliveries fetched`, perSecond: fa.feedBytes / 1024 / sendSeconds, unit: 'KiB/s', baseline: { name: 'node B (unsharded), same run', perSecond: fb.feedBytes / 1024 / sendSeconds } },
        { stage: 'node A records consumed', perSecond: fa.recordsConsumed / sendSeconds, unit: 'records/s', baseline: { name: 'node B', perSecond: fb.recordsConsumed / sendSeconds } },
      ],
      timeline,
      checks: {
        missing: deliveredA.missing + deliveredB.missing,
        repeated: deliveredA.repeated + deliveredB.repeated,
        misrouted: deliveredA.misrouted + deliveredB.misrouted,
      },
      findings: [
        `node A read ${fa.partitionsRead} of ${o.partitions} partitions (at READY: ${partitionsRead.A}), node B ${fb.partitionsRead} (at READY: ${partitionsRead.B})`,
        `deliveries bytes: A ${fa.feedBytes}, B ${fb.feedBytes}: A read ${(share * 100).toFixed(1)}% of B's (target ≤ 30%: ${share <= 0.3 ? 'met' : 'missed'}); produced ${producedTotal} bytes, ${producedA} of them (${((producedA / producedTotal) * 100).toFixed(1)}%) on A's partitions ${wantedPartitions.join(', ')}`,
        `records consumed: A ${fa.recordsConsumed}, B ${fb.recordsConsumed} of ${total} produced (${o.rate}/s for ${o.seconds} s over ${o.guilds} guilds; send took ${sendSeconds.toFixed(1)} s)`,
        `client A: ${deliveredA.received} of ${deliveredA.expected} expected, missing ${deliveredA.missing}, repeated ${deliveredA.repeated}, misrouted ${deliveredA.misrouted}; client B: ${deliveredB.received} of ${deliveredB.expected}, missing ${deliveredB.missing}, repeated ${deliveredB.repeated}`,
      ],
      extra: { rows, producedBytesPerPartition: producedBytes },
      charts: [{ file: 'feed-bytes.svg', title: 'deliveries fetched per node (KiB/s)', xLabel: 's', yLabel: 'KiB/s', series: [{ name: 'node A', points: timeline.map((p): [number, number] => [p.t, p['node A feed KiB/s']!]) }, { name: 'node B', points: timeline.map((p): [number, number] => [p.t, p['node B feed KiB/s']!]) }] }],
    };
  } finally {
    for (const client of clients) client.close();
    for (const node of nodes) await node.edge.close().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteGroups(nodes.map((n) => `guildcast-edge-${prefix}-${n.name}`)).catch(() => {});
    await admin.deleteTopics([topics.deliveries, topics.deadLetter]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

function interestTable(rows: { node: string; feedBytes: number; shareOfB: number; recordsConsumed: number; partitionsRead: number; eventsDelivered: number; client: { expected: number; received: number; missing: number; repeated: number; misrouted: number } }[]): string {
  const head = ['node', 'partitions', 'deliveries bytes', 'share of B', 'records consumed', 'events delivered', 'expected', 'missing', 'repeated', 'misrouted'];
  const body = rows.map((r) => [r.node, String(r.partitionsRead), String(r.feedBytes), `${(r.shareOfB * 100).toFixed(1)}%`, String(r.recordsConsumed), String(r.eventsDelivered), String(r.client.expected), String(r.client.missing), String(r.client.repeated), String(r.client.misrouted)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [head, ...body].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return ((metric?.values ?? []) as { value: number }[]).reduce((sum, v) => sum + v.value, 0);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`edge-interest: timed out waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
