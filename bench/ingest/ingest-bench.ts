/**
 * Ingest bench (not a test): simulated gateway → ingest → Kafka acknowledged, in messages per
 * second, next to a raw kafkajs producer sending the same records (same sizes, keys, partitioner,
 * idempotence, acks and batch size) in the same run. Goal: ingest ≥ 90% of the raw rate.
 *
 *   npm run bench -- ingest [--messages N]   (or npx tsx bench/ingest/run.ts)
 */
import { startGatewaySimulator } from '../../infra/discord-sim/index.ts';
import { serializeEnvelope } from '../../core/events/envelope.ts';
import { guildPartitioner } from '../../core/events/partition.ts';
import { createKafka } from '../../core/kafka/client.ts';
import { rawKafkajs } from '../../core/kafka/kafkajs/client.ts';
import { ensureTopics, topicNames } from '../../core/kafka/topics.ts';
import { createLogger, silentLogger } from '../../core/logger.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import type { BenchResult, StageFigure } from '../kit/report.ts';
import { CompressionTypes } from 'kafkajs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';


export interface IngestBenchOptions {
  messages: number;
  shards: number;
  batch: number;
  lingerMs: number;
  partitions: number;
  sharding: 'simple' | 'worker';
  compressions: ('none' | 'gzip')[];
}

export const ingestDefaults: IngestBenchOptions = { messages: 60_000, shards: 4, batch: 1000, lingerMs: 5, partitions: 12, sharding: 'simple', compressions: ['none', 'gzip'] };

export async function runIngestBench(options: IngestBenchOptions): Promise<BenchResult> {
  const { messages: MESSAGES, shards: SHARDS, batch: BATCH, lingerMs: LINGER_MS, partitions: PARTITIONS, sharding: SHARDING, compressions } = options;
  const log = createLogger('bench-ingest', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kafka = createKafka(loadKafkaConfig(), silentLogger);

  /** Ingest runs as its own process (as in production); the simulator runs here. */
  async function ingestRun(compression: 'none' | 'gzip') {
    const sim = await startGatewaySimulator({ shardCount: SHARDS, guilds: 400, seed: 1, logger: silentLogger, ledgerLimit: MESSAGES + 10_000 });
    const prefix = `bench_ingest_${compression}_${randomBytes(3).toString('hex')}`;
    const topic = topicNames({ KAFKA_TOPIC_PREFIX: prefix }).events;
    const child = spawn(process.execPath, [...profileFlags(), '--import', 'tsx', 'ingest/main.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
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

  async function rawRun(compression: 'none' | 'gzip', records: { key: string | null; value: Buffer }[], prefix: string) {
    const topic = `${topicNames({ KAFKA_TOPIC_PREFIX: prefix }).events}.raw`;
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: PARTITIONS, retentionMs: 3_600_000 }]);
    await admin.disconnect();
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

  const rows = [];
  const stages: StageFigure[] = [];
  for (const compression of compressions) {
    const ingest = await ingestRun(compression);
    const raw = await rawRun(compression, ingest.records, ingest.prefix);
    const avgBytes = ingest.records.reduce((s, r) => s + r.value.length, 0) / ingest.records.length;
    rows.push({
      compression,
      sharding: SHARDING,
      messages: MESSAGES,
      avg_record_bytes: Math.round(avgBytes),
      ingest_msgs_per_s: Math.round(ingest.rate),
      raw_msgs_per_s: Math.round(raw.rate),
      ingest_vs_raw: `${((100 * ingest.rate) / raw.rate).toFixed(1)}%`,
    });
    log.info(rows.at(-1), 'ingest bench row');
    stages.push({ stage: `ingest → Kafka acked (${compression}, ${SHARDING} sharding)`, perSecond: ingest.rate, unit: 'msg/s', baseline: { name: 'raw kafkajs producer', perSecond: raw.rate } });
  }
  return {
    scenario: 'ingest',
    config: { ...options },
    stages,
    findings: rows.map((r) => `${r.compression}: ${r.avg_record_bytes} B per record, ingest ${r.ingest_msgs_per_s}/s vs raw ${r.raw_msgs_per_s}/s (${r.ingest_vs_raw}); goal 90%`),
    extra: { rows },
  };
}

/** BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the ingest process there (open it in Chrome DevTools). */
function profileFlags(): string[] {
  return process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
}
