/**
 * Ingest bench (not a test): simulated gateway → ingest → Kafka acknowledged, in messages per
 * second, next to each client library's raw producer sending the same records (same sizes, keys,
 * idempotence, acks and batch size) in the same run. Goal: ingest ≥ 90% of the raw rate of the
 * library it runs on.
 * `--kafka-client kafkajs|platformatic|both` picks the seam's implementation for ingest (KAFKA_CLIENT
 * in its process) and for the seam producer run (the same records through the seam alone); `both`
 * alternates the two in one run and reports platformatic ÷ kafkajs.
 *
 *   npm run bench -- ingest [--messages N] [--kafka-client both]   (or npx tsx bench/ingest/run.ts)
 */
import { startGatewaySimulator } from '../../infra/discord-sim/index.ts';
import { serializeEnvelope } from '../../core/events/envelope.ts';
import { guildPartitioner, partitionForKey } from '../../core/events/partition.ts';
import { createKafka, kafkaClientNames, type KafkaClientName } from '../../core/kafka/client.ts';
import { rawKafkajs } from '../../core/kafka/kafkajs/client.ts';
import { ensureTopics, topicNames } from '../../core/kafka/topics.ts';
import { createLogger, silentLogger } from '../../core/logger.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import type { BenchResult, StageFigure } from '../kit/report.ts';
import { CompressionTypes } from 'kafkajs';
import { Producer as RawPlatformaticProducer } from '@platformatic/kafka';
import { INGEST_KAFKA_CLIENT } from '../../ingest/config.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';


export interface IngestBenchOptions {
  messages: number;
  shards: number;
  batch: number;
  /** INGEST_LINGER_MS of the role under test; the default is the role's own (0). */
  lingerMs: number;
  partitions: number;
  sharding: 'simple' | 'worker';
  compressions: ('none' | 'gzip')[];
  /** The seam implementations measured, in this order, alternating per compression. */
  kafkaClients: KafkaClientName[];
}

export const ingestDefaults: IngestBenchOptions = { messages: 60_000, shards: 4, batch: 1000, lingerMs: 0, partitions: 12, sharding: 'simple', compressions: ['none', 'gzip'], kafkaClients: [INGEST_KAFKA_CLIENT] };

/**
 * `--kafka-client`: one implementation, or `both` alternated in the same run as A B B A, so neither
 * gains from going second (a warmer JIT, cache or page cache) or first (a quieter machine).
 */
export function kafkaClientsOption(value: string | undefined, fallback: KafkaClientName[]): KafkaClientName[] {
  if (value === undefined) return fallback;
  if (value === 'both') return [...kafkaClientNames, ...[...kafkaClientNames].reverse()];
  if ((kafkaClientNames as readonly string[]).includes(value)) return [value as KafkaClientName];
  throw new Error(`--kafka-client expects kafkajs, platformatic or both, got "${value}"`);
}

export async function runIngestBench(options: IngestBenchOptions): Promise<BenchResult> {
  const { messages: MESSAGES, shards: SHARDS, batch: BATCH, lingerMs: LINGER_MS, partitions: PARTITIONS, sharding: SHARDING, compressions, kafkaClients } = options;
  const log = createLogger('bench-ingest', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kafka = createKafka(loadKafkaConfig(), silentLogger);

  /** Ingest runs as its own process (as in production); the simulator runs here. */
  async function ingestRun(compression: 'none' | 'gzip', client: KafkaClientName) {
    const sim = await startGatewaySimulator({ shardCount: SHARDS, guilds: 400, seed: 1, logger: silentLogger, ledgerLimit: MESSAGES + 10_000 });
    const prefix = `bench_ingest_${compression}_${client}_${randomBytes(3).toString('hex')}`;
    const topic = topicNames({ KAFKA_TOPIC_PREFIX: prefix }).events;
    const child = spawn(process.execPath, [...profileFlags(), '--import', 'tsx', 'ingest/main.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        KAFKA_CLIENT: client,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_EVENT_PARTITIONS: String(PARTITIONS),
        DISCORD_TOKEN: sim.token,
        DISCORD_API_BASE: sim.apiBase,
        INGEST_SHARD_COUNT: String(SHARDS),
        INGEST_SHARDING: SHARDING,
        INGEST_BATCH_MAX: String(BATCH),
        INGEST_LINGER_MS: String(LINGER_MS),
        INGEST_COMPRESSION: compression,
        INGEST_BUFFER_MAX: '100000',
        INGEST_HTTP_PORT: '0',
        INGEST_HTTP_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes('"ingest ready"')) {
      if (child.exitCode !== null) throw new Error(`ingest exited:\n${output}`);
      await delay(200);
    }
    const admin = kafka.admin();
    await admin.connect();
    const acknowledged = async () => (await admin.topicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    const before = await acknowledged();
    const started = performance.now();
    sim.startTraffic({ ratePerSecond: 1_000_000, total: MESSAGES, mix: { MESSAGE_CREATE: 1 }, contentBytes: { min: 50, max: 400 } });
    while ((await acknowledged()) - before < MESSAGES) await delay(20);
    const seconds = (performance.now() - started) / 1000;
    await admin.disconnect();
    // The same records for the raw producer: the envelopes of what was sent, keyed by guild.
    const records = sim.sent
      .filter((s) => s.t === 'MESSAGE_CREATE')
      .slice(-MESSAGES)
      .map((s) => ({
        key: s.guildId ?? null,
        value: serializeEnvelope({ v: 1, id: `gw:${s.shard}:${s.sessionId}:${s.seq}`, type: s.t, guild_id: s.guildId, channel_id: s.channelId, source: 'gateway', shard: s.shard, session_id: s.sessionId, seq: s.seq, received_at: Date.now(), trace_id: 'bench-0123456789-ab', d: s.d }),
      }));
    child.kill('SIGTERM');
    await once(child, 'exit');
    await sim.close();
    return { rate: MESSAGES / seconds, seconds, records, prefix };
  }

  /** A topic of its own for one baseline run, beside the ingest run's events topic, partitioned alike. */
  async function baselineTopic(prefix: string, suffix: string): Promise<string> {
    const topic = `${topicNames({ KAFKA_TOPIC_PREFIX: prefix }).events}.${suffix}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ name: topic, partitions: PARTITIONS, retentionMs: 3_600_000 }]);
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  async function rawRun(compression: 'none' | 'gzip', records: { key: string | null; value: Buffer }[], prefix: string) {
    const topic = await baselineTopic(prefix, 'raw');
    // kafkajs itself, not the seam: the baseline measures the client library alone.
    const kafkajs = rawKafkajs({ brokers: loadKafkaConfig().KAFKA_BROKERS, clientId: 'guildcast-bench-raw', logger: silentLogger });
    const producer = kafkajs.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: guildPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    const started = performance.now();
    for (let i = 0; i < records.length; i += BATCH)
      await producer.sendBatch({ acks: -1, compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None, topicMessages: [{ topic, messages: records.slice(i, i + BATCH) }] });
    const seconds = (performance.now() - started) / 1000;
    await producer.disconnect();
    return { rate: records.length / seconds, seconds };
  }

  /** The same records through @platformatic/kafka's own producer, without the seam (idempotent, acks=all, the library's partitioner, same batches). */
  async function rawPlatformaticRun(compression: 'none' | 'gzip', records: { key: string | null; value: Buffer }[], prefix: string) {
    const topic = await baselineTopic(prefix, 'raw-platformatic');
    const producer = new RawPlatformaticProducer({ clientId: 'guildcast-bench-raw-platformatic', bootstrapBrokers: loadKafkaConfig().KAFKA_BROKERS, idempotent: true, acks: -1, autocreateTopics: false });
    const messages = records.map((r) => ({ topic, ...(r.key === null ? {} : { key: Buffer.from(r.key) }), value: r.value }));
    await producer.metadata({ topics: [topic] });
    const started = performance.now();
    for (let i = 0; i < messages.length; i += BATCH) await producer.send({ messages: messages.slice(i, i + BATCH), acks: -1, compression });
    const seconds = (performance.now() - started) / 1000;
    await producer.close();
    return { rate: records.length / seconds, seconds };
  }

  /** The same records through the seam's producer alone (idempotent, guild partitioner, acks=all, same batches). */
  async function seamRun(compression: 'none' | 'gzip', records: { key: string | null; value: Buffer }[], prefix: string, client: KafkaClientName) {
    const topic = await baselineTopic(prefix, `seam-${client}`);
    const seam = createKafka({ ...loadKafkaConfig(), KAFKA_CLIENT: client, KAFKA_CLIENT_ID: 'guildcast-bench-seam' }, silentLogger);
    const producer = seam.producer({ idempotent: true, partitioner: partitionForKey });
    await producer.connect();
    const started = performance.now();
    for (let i = 0; i < records.length; i += BATCH) await producer.send({ topic, compression, messages: records.slice(i, i + BATCH) });
    const seconds = (performance.now() - started) / 1000;
    await producer.disconnect();
    return { rate: records.length / seconds, seconds };
  }

  const rows = [];
  const stages: StageFigure[] = [];
  const byClient = new Map<string, { ingest: number[]; seam: number[] }>();
  for (const compression of compressions) {
    for (const client of kafkaClients) {
      const ingest = await ingestRun(compression, client);
      const raw = { kafkajs: await rawRun(compression, ingest.records, ingest.prefix), platformatic: await rawPlatformaticRun(compression, ingest.records, ingest.prefix) };
      const seam = await seamRun(compression, ingest.records, ingest.prefix, client);
      const own = raw[client];
      const avgBytes = ingest.records.reduce((s, r) => s + r.value.length, 0) / ingest.records.length;
      rows.push({
        compression,
        kafka_client: client,
        sharding: SHARDING,
        messages: MESSAGES,
        avg_record_bytes: Math.round(avgBytes),
        ingest_msgs_per_s: Math.round(ingest.rate),
        seam_producer_msgs_per_s: Math.round(seam.rate),
        raw_kafkajs_msgs_per_s: Math.round(raw.kafkajs.rate),
        raw_platformatic_msgs_per_s: Math.round(raw.platformatic.rate),
        /** Ingest against the raw producer of the library it ran on: the goal is 90%. */
        ingest_vs_raw: `${((100 * ingest.rate) / own.rate).toFixed(1)}%`,
      });
      log.info(rows.at(-1), 'ingest bench row');
      const figures = byClient.get(`${compression}/${client}`) ?? { ingest: [], seam: [] };
      figures.ingest.push(ingest.rate);
      figures.seam.push(seam.rate);
      byClient.set(`${compression}/${client}`, figures);
      stages.push({ stage: `ingest → Kafka acked (${compression}, ${SHARDING} sharding, ${client})`, perSecond: ingest.rate, unit: 'msg/s', baseline: { name: `raw ${client} producer`, perSecond: own.rate } });
      stages.push({ stage: `seam producer (${compression}, ${client})`, perSecond: seam.rate, unit: 'msg/s', baseline: { name: `raw ${client} producer`, perSecond: own.rate } });
      if (client !== 'kafkajs') stages.push({ stage: `ingest → Kafka acked (${compression}, ${client})`, perSecond: ingest.rate, unit: 'msg/s', baseline: { name: 'raw kafkajs producer', perSecond: raw.kafkajs.rate } });
    }
  }
  const ratios: string[] = [];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  if (new Set(kafkaClients).size === 2)
    for (const compression of compressions) {
      const k = byClient.get(`${compression}/kafkajs`)!;
      const p = byClient.get(`${compression}/platformatic`)!;
      ratios.push(
        `${compression}: platformatic ÷ kafkajs (means of ${p.ingest.length} and ${k.ingest.length} runs) = ${(mean(p.ingest) / mean(k.ingest)).toFixed(2)}× for ingest, ${(mean(p.seam) / mean(k.seam)).toFixed(2)}× for the seam producer alone`,
      );
    }
  return {
    scenario: 'ingest',
    config: { ...options },
    stages,
    findings: [
      ...rows.map(
        (r) =>
          `${r.compression}, ${r.kafka_client}: ${r.avg_record_bytes} B per record, ingest ${r.ingest_msgs_per_s}/s, ${r.ingest_vs_raw} of the raw ${r.kafka_client} producer (goal 90%); raw kafkajs ${r.raw_kafkajs_msgs_per_s}/s, raw platformatic ${r.raw_platformatic_msgs_per_s}/s; seam producer ${r.seam_producer_msgs_per_s}/s`,
      ),
      ...ratios,
    ],
    extra: { rows },
  };
}

/** BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the ingest process there (open it in Chrome DevTools). */
function profileFlags(): string[] {
  return process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
}
