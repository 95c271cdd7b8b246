import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { partitionForKey } from '../core/events/partition.ts';
import { httpBaseUrl } from '../core/http/address.ts';
import { ensureTopics, standardTopics, topicNames } from '../core/kafka/topics.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { HostContext, RunningRole } from '../core/process/host.ts';
import { SnowflakeGenerator } from '../core/discord/snowflake.ts';
import { CheckpointStore } from './checkpoints.ts';
import { INGEST_KAFKA_CLIENT, type IngestConfig } from './config.ts';
import { traceIdSource } from './envelope.ts';
import { createDispatchHandler } from './gateway.ts';
import { httpIngestPlugin } from './http.ts';
import { createKafka } from '../core/kafka/client.ts';
import type net from 'node:net';
import type { KafkaClient, Producer } from '../core/kafka/types.ts';
import { retryWithBackoff } from '../core/retry/backoff.ts';
import { createIngestMetrics, type IngestMetrics } from './metrics.ts';
import { BatchingPublisher } from './publisher.ts';
import { ShardSessions } from './sessions.ts';
import { GatewayShards } from './shards.ts';
import { EventSink } from './sink.ts';

export interface IngestDeps {
  logger: Logger;
  registry: Registry;
  /** Mount HTTP ingest on this (not yet listening) server instead of listening on INGEST_HTTP_PORT. */
  app?: FastifyInstance;
  /** Tests only: sees every Kafka connection as it opens (`createKafka`'s onSocket), to cut them. */
  kafkaOnSocket?: (socket: net.Socket) => void;
}

export interface IngestRole {
  /** Resolves once the shards connected and HTTP ingest listens. */
  ready(): Promise<void>;
  /** Shards not READY at this moment (none without DISCORD_TOKEN): readiness is "working now". */
  shardsNotReady(): Promise<number[]>;
  /** Stops the shards (resumably), flushes, writes the final checkpoints. */
  close(): Promise<void>;
  readonly metrics: IngestMetrics;
  /** HTTP ingest's address when it listens on its own server, e.g. `http://127.0.0.1:8081`. */
  readonly httpAddress: string | undefined;
  /** Records queued or in flight to Kafka. */
  bufferSize(): { records: number; bytes: number };
  /** The sink other in-process roles can publish through (HTTP ingest mounted elsewhere). */
  readonly sink: EventSink;
}

/**
 * The ingest role: gateway shards and/or HTTP ingest into Kafka. Order of start-up matters: the
 * checkpoints are loaded before any shard connects, so the first connect resumes their sessions.
 */
export async function startIngest(config: IngestConfig, deps: IngestDeps): Promise<IngestRole> {
  const logger = deps.logger.child({ component: 'ingest' });
  const metrics = createIngestMetrics(deps.registry);
  const topics = topicNames(config);
  const kafka: KafkaClient = createKafka(config, deps.logger, { roleDefault: INGEST_KAFKA_CLIENT, ...(deps.kafkaOnSocket ? { onSocket: deps.kafkaOnSocket } : {}) });

  const admin = kafka.admin();
  await admin.connect();
  try {
    const mine = new Set<string>([topics.events, topics.deadLetter, topics.ingestCheckpoints]);
    await ensureTopics(admin, standardTopics(config).filter((t) => mine.has(t.name)), logger);
  } finally {
    await admin.disconnect();
  }

  const producer: Producer = kafka.producer({ idempotent: true, partitioner: partitionForKey });
  await producer.connect();
  const publisher = new BatchingPublisher({
    producer,
    maxRecords: config.INGEST_BUFFER_MAX,
    maxBytes: config.INGEST_BUFFER_MAX_BYTES,
    batchMax: config.INGEST_BATCH_MAX,
    lingerMs: config.INGEST_LINGER_MS,
    compression: config.INGEST_COMPRESSION,
    logger: logger.child({ component: 'publisher' }),
    metrics,
  });
  const sink = new EventSink(publisher, topics, metrics, logger);
  const newTraceId = traceIdSource();

  const checkpoints = new CheckpointStore({ kafka, topic: topics.ingestCheckpoints, intervalMs: config.INGEST_CHECKPOINT_INTERVAL_MS, logger, metrics });
  const sessions = new ShardSessions({
    identified(shard, sessionId, lost) {
      metrics.identifies.inc({ shard: String(shard) });
      if (lost) {
        metrics.sequenceGaps.inc({ shard: String(shard), kind: 'session_lost' });
        logger.warn({ shard, session_id: sessionId, lost_session_id: lost.sessionId, lost_after_seq: lost.seq }, 'session could not be resumed: re-identified; dispatches after the lost seq are gone');
      } else logger.info({ shard, session_id: sessionId }, 'session identified');
    },
  });

  let shards: GatewayShards | undefined;
  let shardsConnected: Promise<void> = Promise.resolve();
  const connecting = new AbortController();
  if (config.DISCORD_TOKEN) {
    const loaded = await checkpoints.load();
    sessions.load(loaded.values());
    logger.info({ checkpoints: [...loaded.values()] }, 'loaded shard checkpoints');
    await checkpoints.start();
    publisher.on('acked', (positions) => {
      for (const p of positions) {
        const checkpoint = sessions.acknowledge(p.shard, p.sessionId, p.seq);
        if (checkpoint) checkpoints.record(checkpoint);
      }
    });
    let onShed = (_shard: number): void => undefined;
    shards = new GatewayShards({
      token: config.DISCORD_TOKEN,
      apiBase: config.DISCORD_API_BASE,
      intents: config.DISCORD_INTENTS,
      shardCount: config.INGEST_SHARD_COUNT || null,
      shardIds: config.INGEST_SHARD_IDS ?? null,
      sharding: config.INGEST_SHARDING,
      shardsPerWorker: config.INGEST_SHARDS_PER_WORKER,
      sessions,
      logger,
      metrics,
      onDispatch: createDispatchHandler({ sessions, sink, metrics, logger, newTraceId, onShed: (shard) => onShed(shard) }),
    });
    const gateway = shards;
    onShed = () => gateway.requestResume();
    publisher.on('full', () => void gateway.setPaused(true).catch((err) => logger.error({ err }, 'could not pause shards')));
    publisher.on('drained', () => void gateway.setPaused(false).catch((err) => logger.error({ err }, 'could not resume shards')));
    // The gateway may not answer yet (every role started at once, a Discord or network blip): keep
    // trying, spread out, and stay unready meanwhile; a manager connect starts over from scratch.
    shardsConnected = retryWithBackoff(() => gateway.start(), {
      minMs: config.INGEST_CONNECT_RETRY_MIN_MS,
      maxMs: config.INGEST_CONNECT_RETRY_MAX_MS,
      signal: connecting.signal,
      onRetry: (err, attempt, retryInMs) => logger.warn({ err, attempt, retryInMs }, 'gateway connect failed; retrying'),
    });
  }

  let http: FastifyInstance | undefined;
  let httpAddress: string | undefined;
  if (config.INGEST_HTTP_TOKEN) {
    const app = deps.app ?? Fastify({ loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger });
    if (!deps.app) http = app;
    await app.register(httpIngestPlugin, {
      tokens: config.INGEST_HTTP_TOKEN,
      rateLimit: { limit: config.INGEST_HTTP_RATE_LIMIT, windowMs: config.INGEST_HTTP_RATE_WINDOW_MS },
      sink,
      snowflakes: new SnowflakeGenerator({ workerId: config.INGEST_HTTP_WORKER_ID, processId: process.pid % 32 }),
      author: { id: config.INGEST_HTTP_AUTHOR_ID, username: config.INGEST_HTTP_AUTHOR_NAME },
      newTraceId,
      metrics,
      logger,
    });
    if (http) {
      await http.listen({ port: config.INGEST_HTTP_PORT, host: config.INGEST_HTTP_HOST });
      httpAddress = httpBaseUrl(http.server.address() as AddressInfo, config.INGEST_HTTP_HOST);
    }
  }

  let closing: Promise<void> | undefined;
  return {
    ready: () => shardsConnected,
    shardsNotReady: async () => (shards ? shards.shardsNotReady() : []),
    metrics,
    httpAddress,
    sink,
    bufferSize: () => publisher.size,
    close: () =>
      (closing ??= (async () => {
        connecting.abort(new Error('ingest is closing'));
        await http?.close();
        await shards?.close();
        await publisher.close(config.INGEST_SHUTDOWN_FLUSH_MS);
        for (const c of sessions.snapshot()) checkpoints.record(c);
        await checkpoints.close();
        await producer.disconnect();
        logger.info('ingest stopped');
      })()),
  };
}

/** The ingest role for `core/process/host.ts`: HTTP ingest on the host's server, readiness checks. */
export async function startIngestRole(config: IngestConfig, context: HostContext): Promise<RunningRole> {
  const role = await startIngest(config, { logger: context.logger, registry: context.registry, app: context.app });
  let connected = !config.DISCORD_TOKEN;
  role.ready().then(
    () => {
      connected = true;
      context.logger.info({ component: 'ingest' }, 'ingest ready');
    },
    // Start-up retries until it connects, so this is only a close that came first.
    (err) => context.logger.info({ reason: (err as Error).message, component: 'ingest' }, 'stopped before the shards connected'),
  );
  return {
    name: 'ingest',
    checks: [
      {
        name: 'gateway shards connected',
        check: async () => {
          if (!connected) throw new Error('shards are still connecting');
          const down = await role.shardsNotReady();
          if (down.length > 0) throw new Error(`shards not connected now: ${down.join(', ')}`);
        },
      },
      {
        name: 'Kafka buffer below its bound',
        check: async () => {
          const { records, bytes } = role.bufferSize();
          if (records >= config.INGEST_BUFFER_MAX || bytes >= config.INGEST_BUFFER_MAX_BYTES) throw new Error(`buffer full (${records} records): Kafka is slow or down`);
        },
      },
    ],
    close: () => role.close(),
  };
}
