import cassandra from 'cassandra-driver';
import { partitionForKey } from '../../core/events/partition.ts';
import { serializeEnvelope, type EventEnvelope } from '../../core/events/envelope.ts';
import { createKafka, type KafkaClientName } from '../../core/kafka/client.ts';
import { rawKafkajs } from '../../core/kafka/kafkajs/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import { createLogger } from '../../core/logger.ts';
import { createRegistry } from '../../core/metrics.ts';
import { createFanoutMetrics } from '../../fanout/metrics.ts';
import { PersistConsumer } from '../../fanout/persist-consumer.ts';
import { FANOUT_KAFKA_CLIENT, groupLag, loadFanoutConfig } from '../../fanout/index.ts';
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
  /** The seam implementations measured, one after the other on identical backlogs (`both`: kafkajs, then platformatic). */
  kafkaClients: KafkaClientName[];
}

export const persistDefaults: PersistBenchOptions = {
  messages: 40_000,
  partitions: 12,
  guilds: 200,
  channelsPerGuild: 4,
  contentBytes: { min: 20, max: 400 },
  latencySeconds: 20,
  writeConcurrency: 64,
  kafkaClients: [FANOUT_KAFKA_CLIENT],
};

/**
 * `persist`: Kafka → fanout's persist consumer → store, in messages per second, next to the raw
 * cassandra-driver `executeConcurrent` insert rate for the same rows in the same run; then the
 * delay from a record's send to its row being written, under an open-loop rate. With several
 * `kafkaClients`, each gets a topic set of its own with the same backlog, its own drain and its own
 * latency phase (producer and consumer both through that implementation), one after the other.
 */
export async function runPersistBench(options: PersistBenchOptions): Promise<BenchResult> {
  const logger = createLogger('bench-persist', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kafkaConfig = loadKafkaConfig();
  const storeConfig = loadStoreConfig();
  const prefix = `bench-persist-${Date.now().toString(36)}`;
  const keyspace = `bench_persist_${Date.now().toString(36)}`;
  // Per run (`both` measures each implementation twice, A B B A): a topic set and group of its own.
  const topicsOf = (run: number, client: KafkaClientName) => topicNames({ KAFKA_TOPIC_PREFIX: `${prefix}-${run}-${client}` });
  const kafkaOf = (client: KafkaClientName) => createKafka({ ...kafkaConfig, KAFKA_CLIENT: client }, logger);
  const admin = createKafka(kafkaConfig, logger).admin();
  await admin.connect();
  // The project's own topic set, under a prefix of this run's, one per implementation measured.
  for (const [run, client] of options.kafkaClients.entries()) {
    const specs = standardTopics({ ...kafkaConfig, KAFKA_TOPIC_PREFIX: `${prefix}-${run}-${client}`, KAFKA_EVENT_PARTITIONS: options.partitions, KAFKA_RETENTION_HOURS: 1 });
    // A busy broker can answer a new topic's first metadata request with "does not host this
    // topic-partition" before its leaders settle: ensureTopics is idempotent, so ask again (as e2e does).
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(admin, specs);
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  }
  const cql = createCqlClient(storeConfig);
  await cql.connect();
  await migrate(cql, { keyspace, replication: { class: 'SimpleStrategy', replication_factor: 1 } });
  const registry = createRegistry('bench', { defaults: false });
  const metrics = createFanoutMetrics(registry);
  const store = createMessageStore({ client: cql, keyspace, registry, logger, writeConcurrency: options.writeConcurrency });

  const workload = createWorkload(options);
  const progress = new Progress('persist');
  const envelope = (): EventEnvelope => {
    const m = workload.nextMessage();
    return { v: 1, id: `bench:${m.d.id}`, type: 'MESSAGE_CREATE', guild_id: m.guildId, channel_id: m.channelId, source: 'http', received_at: Date.now(), trace_id: String(m.d.id), d: m.d };
  };

  /** What the sink counts, for the implementation being measured now. */
  let phase = { persisted: 0, sentAt: new Map<string, number>(), latency: new LatencyRecorder() };
  const measuringSink = {
    async upsertMessages(messages: Record<string, unknown>[]) {
      await store.upsertMessages(messages);
      const now = performance.now();
      const current = phase;
      current.persisted += messages.length;
      progress.count('persisted', messages.length);
      for (const m of messages) {
        const at = current.sentAt.get(String(m.id));
        if (at !== undefined) {
          current.latency.recordMs(now - at);
          current.sentAt.delete(String(m.id));
        }
      }
    },
    applyEdits: (e: Record<string, unknown>[]) => store.applyEdits(e),
    deleteMessages: (c: string, ids: string[]) => store.deleteMessages(c, ids),
  };

  const findings: string[] = [];
  const producers: { disconnect(): Promise<void> }[] = [];
  try {
    // 1. A backlog (the same for every implementation), then the time the consumer takes to drain it.
    const backlog: EventEnvelope[] = Array.from({ length: options.messages }, envelope);
    const bytes = backlog.reduce((s, e) => s + serializeEnvelope(e).length, 0);

    const measured: { client: KafkaClientName; persistRate: number; rate: number; latency: LatencyRecorder; notPersisted: number; behindMs: number }[] = [];
    progress.gauge('lag', () => undefined);
    progress.begin();
    for (const [run, client] of options.kafkaClients.entries()) {
      const kafka = kafkaOf(client);
      const topics = topicsOf(run, client);
      const producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
      await producer.connect();
      producers.push(producer);
      for (let i = 0; i < backlog.length; i += 2000)
        await producer.send({ topic: topics.events, messages: backlog.slice(i, i + 2000).map((e) => ({ key: e.guild_id!, value: serializeEnvelope(e) })) });
      phase = { persisted: 0, sentAt: new Map(), latency: new LatencyRecorder() };
      const current = phase;
      const group = `${prefix}-group-${run}-${client}`;
      const consumer = new PersistConsumer({
        kafka, topics, groupId: group, sink: measuringSink, logger, metrics,
        chunkSize: 500, partitionsConcurrently: Math.min(options.partitions, 4), retryMinMs: 200, retryMaxMs: 2000, maxUnexpectedFailures: 5,
        commitIntervalMs: loadFanoutConfig({}).FANOUT_COMMIT_INTERVAL_MS,
      });
      const began = performance.now();
      await consumer.start();
      while (current.persisted < options.messages) await new Promise((r) => setTimeout(r, 20));
      const persistRate = options.messages / ((performance.now() - began) / 1000);

      // 3. Latency under an open-loop rate below capacity (the first implementation's half rate for all, so they are compared at one rate).
      const rate = options.latencyRate ?? measured[0]?.rate ?? Math.max(100, Math.round(persistRate / 2));
      const sends: Promise<unknown>[] = [];
      let pending: EventEnvelope[] = [];
      const flush = () => {
        if (pending.length === 0) return;
        const batch = pending;
        pending = [];
        sends.push(producer.send({ topic: topics.events, messages: batch.map((e) => ({ key: e.guild_id!, value: serializeEnvelope(e) })) }));
      };
      const flusher = setInterval(flush, 2);
      let lagNow: number | undefined;
      progress.gauge('lag', () => lagNow);
      const lagTimer = setInterval(async () => {
        lagNow = (await groupLag(admin, group, topics.events).catch(() => [])).reduce((s, l) => s + l.lag, 0);
      }, 1000);
      const loop = await openLoop({
        ratePerSecond: rate,
        durationMs: options.latencySeconds * 1000,
        // The records leave every 2 ms anyway; spinning between ticks would take the CPU the consumer and the producer under test run on.
        timerOnly: true,
        fire: (_i, intendedAt) => {
          const e = envelope();
          current.sentAt.set((e.d as { id: string }).id, intendedAt);
          pending.push(e);
          progress.count('produced');
        },
      });
      clearInterval(flusher);
      flush();
      await Promise.all(sends);
      const deadline = Date.now() + 60_000;
      while (current.latency.count < loop.fired && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      clearInterval(lagTimer);
      await consumer.stop();
      const notPersisted = Math.max(0, loop.fired - current.latency.count);
      if (notPersisted > 0) findings.push(`${client}: ${notPersisted} of ${loop.fired} latency-phase messages were not persisted within 60 s after the phase`);
      measured.push({ client, persistRate, rate, latency: current.latency, notPersisted, behindMs: loop.behindMs });
    }
    progress.end();

    // 2a. The raw kafkajs consumer over the same backlog: what reading alone costs.
    // kafkajs itself, not the seam: the baseline measures the client library alone.
    const kafkajs = rawKafkajs({ brokers: kafkaConfig.KAFKA_BROKERS, clientId: kafkaConfig.KAFKA_CLIENT_ID, logger });
    const rawConsumer = kafkajs.consumer({ groupId: `${prefix}-raw`, maxWaitTimeInMs: 100 });
    await rawConsumer.connect();
    await rawConsumer.subscribe({ topic: topicsOf(0, options.kafkaClients[0]!).events, fromBeginning: true });
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

    for (const m of measured)
      findings.push(`${m.client}: persist ran at ${((m.persistRate / rawRate) * 100).toFixed(0)}% of the raw driver's insert rate on the same node (${Math.round(bytes / options.messages)} B per envelope); record → row p99 ${m.latency.summary().p99.toFixed(1)} ms at ${m.rate}/s`);
    const of = (client: KafkaClientName) => measured.filter((m) => m.client === client);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    if (of('kafkajs').length > 0 && of('platformatic').length > 0) {
      const drain = (c: KafkaClientName) => mean(of(c).map((m) => m.persistRate));
      const p99 = (c: KafkaClientName) => of(c).map((m) => m.latency.summary().p99.toFixed(1)).join(', ');
      findings.push(`platformatic ÷ kafkajs: ${(drain('platformatic') / drain('kafkajs')).toFixed(2)}× drain rate (means of ${of('platformatic').length} and ${of('kafkajs').length} runs); record → row p99 ${p99('kafkajs')} ms (kafkajs) vs ${p99('platformatic')} ms (platformatic)`);
    }
    return {
      scenario: 'persist',
      config: { ...options, latencyRate: measured[0]!.rate, kafkaBrokers: kafkaConfig.KAFKA_BROKERS, cassandra: storeConfig.CASSANDRA_CONTACT_POINTS },
      stages: measured.flatMap((m) => [
        { stage: `persist (Kafka → store, run ${measured.indexOf(m) + 1}, ${m.client})`, perSecond: m.persistRate, unit: 'msg/s', baseline: { name: 'raw executeConcurrent', perSecond: rawRate } },
        { stage: `persist (Kafka → store, run ${measured.indexOf(m) + 1}, ${m.client})`, perSecond: m.persistRate, unit: 'msg/s', baseline: { name: 'raw kafkajs consumer', perSecond: rawConsumeRate } },
      ]),
      latency: measured.map((m, i) => ({ name: `record → row at ${m.rate}/s (run ${i + 1}, ${m.client})`, summary: m.latency.summary(), distribution: m.latency.distribution() })),
      timeline: progress.timeline,
      checks: { notPersisted: measured.reduce((s, m) => s + m.notPersisted, 0) },
      findings,
      extra: { openLoopBehindMs: measured.map((m) => ({ client: m.client, behindMs: m.behindMs })) },
    };
  } finally {
    for (const producer of producers) await producer.disconnect().catch(() => {});
    for (const [run, client] of options.kafkaClients.entries()) await admin.deleteTopics(Object.values(topicsOf(run, client))).catch(() => {});
    await admin.disconnect();
    await cql.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
    await cql.shutdown();
  }
}
