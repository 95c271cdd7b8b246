import cassandra from 'cassandra-driver';
import { partitionForKey } from '../../core/events/partition.ts';
import { serializeEnvelope, type EventEnvelope } from '../../core/events/envelope.ts';
import { createKafka } from '../../core/kafka/client.ts';
import { rawKafkajs } from '../../core/kafka/kafkajs/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import { createLogger } from '../../core/logger.ts';
import { createRegistry } from '../../core/metrics.ts';
import { createFanoutMetrics } from '../../fanout/metrics.ts';
import { PersistConsumer } from '../../fanout/persist-consumer.ts';
import { groupLag } from '../../fanout/index.ts';
import { bucketOf } from '../../core/discord/bucket.ts';
import { createCqlClient, createMessageStore, loadStoreConfig, migrate } from '../../store/index.ts';
import { LatencyRecorder } from '../kit/latency.ts';
import { openLoop } from '../kit/open-loop.ts';
import { Progress } from '../kit/progress.ts';
import type { BenchResult } from '../kit/report.ts';
import { createWorkload } from '../kit/workload.ts';

export interface PersistBenchOptions {
  /** Backlog persisted for the throughput figure, and rows inserted by the raw-driver baseline. */
  messages: number;
  partitions: number;
  guilds: number;
  channelsPerGuild: number;
  contentBytes: { min: number; max: number };
  /** Open-loop rate for the latency phase; default half the measured throughput. */
  latencyRate?: number;
  latencySeconds: number;
  writeConcurrency: number;
}

export const persistDefaults: PersistBenchOptions = {
  messages: 40_000,
  partitions: 12,
  guilds: 200,
  channelsPerGuild: 4,
  contentBytes: { min: 20, max: 400 },
  latencySeconds: 20,
  writeConcurrency: 64,
};

/**
 * `persist`: Kafka → fanout's persist consumer → store, in messages per second, next to the raw
 * cassandra-driver `executeConcurrent` insert rate for the same rows in the same run; then the
 * delay from a record's send to its row being written, under an open-loop rate.
 */
export async function runPersistBench(options: PersistBenchOptions): Promise<BenchResult> {
  const logger = createLogger('bench-persist', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kafkaConfig = loadKafkaConfig();
  const storeConfig = loadStoreConfig();
  const prefix = `bench-persist-${Date.now().toString(36)}`;
  const keyspace = `bench_persist_${Date.now().toString(36)}`;
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const kafka = createKafka(kafkaConfig, logger);
  const admin = kafka.admin();
  await admin.connect();
  // The project's own topic set, under a prefix of this run's.
  await ensureTopics(admin, standardTopics({ ...kafkaConfig, KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: options.partitions, KAFKA_RETENTION_HOURS: 1 }));
  const cql = createCqlClient(storeConfig);
  await cql.connect();
  await migrate(cql, { keyspace, replication: { class: 'SimpleStrategy', replication_factor: 1 } });
  const registry = createRegistry('bench', { defaults: false });
  const store = createMessageStore({ client: cql, keyspace, registry, logger, writeConcurrency: options.writeConcurrency });

  const workload = createWorkload(options);
  const sentAt = new Map<string, number>();
  const persistedLatency = new LatencyRecorder();
  const progress = new Progress('persist');
  const producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
  await producer.connect();
  const envelope = (): EventEnvelope => {
    const m = workload.nextMessage();
    return { v: 1, id: `bench:${m.d.id}`, type: 'MESSAGE_CREATE', guild_id: m.guildId, channel_id: m.channelId, source: 'http', received_at: Date.now(), trace_id: String(m.d.id), d: m.d };
  };

  let persisted = 0;
  const measuringSink = {
    async upsertMessages(messages: Record<string, unknown>[]) {
      await store.upsertMessages(messages);
      const now = performance.now();
      persisted += messages.length;
      progress.count('persisted', messages.length);
      for (const m of messages) {
        const at = sentAt.get(String(m.id));
        if (at !== undefined) {
          persistedLatency.recordMs(now - at);
          sentAt.delete(String(m.id));
        }
      }
    },
    applyEdits: (e: Record<string, unknown>[]) => store.applyEdits(e),
    deleteMessages: (c: string, ids: string[]) => store.deleteMessages(c, ids),
  };

  const findings: string[] = [];
  try {
    // 1. A backlog, then the time the consumer takes to drain it.
    const backlog: EventEnvelope[] = Array.from({ length: options.messages }, envelope);
    const bytes = backlog.reduce((s, e) => s + serializeEnvelope(e).length, 0);
    for (let i = 0; i < backlog.length; i += 2000)
      await producer.send({ topic: topics.events, messages: backlog.slice(i, i + 2000).map((e) => ({ key: e.guild_id!, value: serializeEnvelope(e) })) });

    const group = `${prefix}-group`;
    const consumer = new PersistConsumer({
      kafka, topics, groupId: group, sink: measuringSink, logger, metrics: createFanoutMetrics(registry),
      chunkSize: 500, partitionsConcurrently: Math.min(options.partitions, 4), retryMinMs: 200, retryMaxMs: 2000, maxUnexpectedFailures: 5,
    });
    progress.gauge('lag', () => undefined);
    progress.begin();
    const began = performance.now();
    let drainedAt = 0;
    await consumer.start();
    while (persisted < options.messages) await new Promise((r) => setTimeout(r, 20));
    drainedAt = performance.now();
    const persistRate = options.messages / ((drainedAt - began) / 1000);

    // 2a. The raw kafkajs consumer over the same backlog: what reading alone costs.
    // kafkajs itself, not the seam: the baseline measures the client library alone.
    const kafkajs = rawKafkajs({ brokers: kafkaConfig.KAFKA_BROKERS, clientId: kafkaConfig.KAFKA_CLIENT_ID, logger });
    const rawConsumer = kafkajs.consumer({ groupId: `${prefix}-raw`, maxWaitTimeInMs: 100 });
    await rawConsumer.connect();
    await rawConsumer.subscribe({ topic: topics.events, fromBeginning: true });
    let consumed = 0;
    const consumeBegan = performance.now();
    await new Promise<void>((resolve, reject) => {
      rawConsumer
        .run({
          partitionsConsumedConcurrently: Math.min(options.partitions, 12),
          eachBatch: async ({ batch }) => {
            consumed += batch.messages.length;
            if (consumed >= options.messages) resolve();
          },
        })
        .catch(reject);
    });
    const rawConsumeRate = options.messages / ((performance.now() - consumeBegan) / 1000);
    await rawConsumer.disconnect();

    // 2b. The raw driver, same rows (new ids, same channels and sizes), same node, same concurrency.
    const raw = Array.from({ length: options.messages }, () => workload.nextMessage().d);
    const insert = `INSERT INTO ${keyspace}.messages (channel_id, bucket, message_id, guild_id, author_id, author, content, type, flags, tts, mention_everyone, pinned, mentions, mention_roles, attachments, embeds, components) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    const rawBegan = performance.now();
    await cassandra.concurrent.executeConcurrent(
      cql,
      insert,
      raw.map((d) => {
        const id = BigInt(d.id as string);
        return [BigInt(d.channel_id as string), bucketOf(id), id, BigInt(d.guild_id as string), BigInt((d.author as { id: string }).id), JSON.stringify(d.author), d.content, 0, 0, false, false, false, '[]', '[]', '[]', '[]', '[]'];
      }),
      { concurrencyLevel: options.writeConcurrency, raiseOnFirstError: true },
    );
    const rawRate = options.messages / ((performance.now() - rawBegan) / 1000);

    // 3. Latency under an open-loop rate below capacity.
    const rate = options.latencyRate ?? Math.max(100, Math.round(persistRate / 2));
    const sends: Promise<unknown>[] = [];
    let pending: EventEnvelope[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      sends.push(producer.send({ topic: topics.events, messages: batch.map((e) => ({ key: e.guild_id!, value: serializeEnvelope(e) })) }));
    };
    const flusher = setInterval(flush, 2);
    progress.gauge('lag', () => lagNow);
    let lagNow: number | undefined;
    const lagTimer = setInterval(async () => {
      lagNow = (await groupLag(admin, group, topics.events).catch(() => [])).reduce((s, l) => s + l.lag, 0);
    }, 1000);
    const loop = await openLoop({
      ratePerSecond: rate,
      durationMs: options.latencySeconds * 1000,
      fire: (_i, intendedAt) => {
        const e = envelope();
        sentAt.set((e.d as { id: string }).id, intendedAt);
        pending.push(e);
        progress.count('produced');
      },
    });
    clearInterval(flusher);
    flush();
    await Promise.all(sends);
    const expected = persisted + loop.fired;
    const deadline = Date.now() + 60_000;
    while (persistedLatency.count < loop.fired && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    clearInterval(lagTimer);
    progress.end();
    await consumer.stop();
    if (persistedLatency.count < loop.fired) findings.push(`${loop.fired - persistedLatency.count} of ${loop.fired} latency-phase messages were not persisted within 60 s after the phase (expected ${expected} in all)`);

    const ratio = persistRate / rawRate;
    findings.push(`persist ran at ${(ratio * 100).toFixed(0)}% of the raw driver's insert rate on the same node (${Math.round(bytes / options.messages)} B per envelope)`);
    return {
      scenario: 'persist',
      config: { ...options, latencyRate: rate, kafkaBrokers: kafkaConfig.KAFKA_BROKERS, cassandra: storeConfig.CASSANDRA_CONTACT_POINTS },
      stages: [
        { stage: 'persist (Kafka → store)', perSecond: persistRate, unit: 'msg/s', baseline: { name: 'raw executeConcurrent', perSecond: rawRate } },
        { stage: 'persist (Kafka → store)', perSecond: persistRate, unit: 'msg/s', baseline: { name: 'raw kafkajs consumer', perSecond: rawConsumeRate } },
      ],
      latency: [{ name: `record → row at ${rate}/s`, summary: persistedLatency.summary(), distribution: persistedLatency.distribution() }],
      timeline: progress.timeline,
      checks: { notPersisted: Math.max(0, loop.fired - persistedLatency.count) },
      findings,
      extra: { openLoopBehindMs: loop.behindMs },
    };
  } finally {
    await producer.disconnect();
    await admin.deleteTopics(Object.values(topics)).catch(() => {});
    await admin.disconnect();
    await cql.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
    await cql.shutdown();
  }
}
