import { createKafka } from '../core/kafka/client.ts';
import { ensureTopics, standardTopics, topicNames } from '../core/kafka/topics.ts';
import type { Admin } from '../core/kafka/types.ts';
import type { HostContext, RunningRole } from '../core/process/host.ts';
import { retryWithBackoff } from '../core/retry/backoff.ts';
import { createCqlClient, createGuildStateStore, createMessageStore, messageStoreSettings, migrate } from '../store/index.ts';
import { FANOUT_KAFKA_CLIENT, type FanoutConfig } from './config.ts';
import { groupLag } from './lag.ts';
import { createFanoutMetrics } from './metrics.ts';
import { PersistConsumer } from './persist-consumer.ts';

/** A configuration the operator must fix: retrying cannot help. */
class PartitioningMismatch extends Error {}

/**
 * The fanout role: one member of the persist consumer group. Run as many as there are partitions;
 * more sit idle as standbys.
 *
 * Start-up runs in the background and retries with backoff (unready meanwhile): when every role
 * starts at once, Kafka may not answer yet, or another role may be creating the topics at that
 * very moment (the broker then answers "This server does not host this topic-partition" for a
 * while). Only a partition-count mismatch between events and deliveries stops the process.
 */
export async function startFanout(config: FanoutConfig, { logger, registry, fatal }: HostContext): Promise<RunningRole> {
  const log = logger.child({ component: 'fanout' });
  const metrics = createFanoutMetrics(registry);
  const kafka = createKafka(config, logger, { roleDefault: FANOUT_KAFKA_CLIENT });
  const topics = topicNames(config);
  const admin = kafka.admin();
  const cql = createCqlClient(config);
  const aborted = new AbortController();
  let consumer: PersistConsumer | undefined;
  let phase = 'connecting to Kafka';
  let lastFailure = '';

  const step = <T>(name: string, work: () => Promise<T>) => {
    phase = name;
    return retryWithBackoff(work, {
      minMs: config.FANOUT_RETRY_MIN_MS,
      maxMs: config.FANOUT_RETRY_MAX_MS,
      signal: aborted.signal,
      retryable: (err) => !(err instanceof PartitioningMismatch),
      onRetry: (err, attempt, delayMs) => {
        lastFailure = (err as Error).message;
        log.warn({ err: lastFailure, attempt, retryInMs: delayMs }, `fanout start-up: ${name} failed; retrying`);
      },
    });
  };

  const started = (async () => {
    const partitions = await step('preparing Kafka topics', async () => {
      await admin.connect();
      await ensureTopics(admin, standardTopics(config), log);
      return assertSamePartitioning(admin, topics.events, topics.deliveries);
    });
    const { store, guildState } = await step('preparing Cassandra', async () => {
      await cql.connect();
      await migrate(cql, { keyspace: config.CASSANDRA_KEYSPACE, replication: config.CASSANDRA_REPLICATION });
      const settings = messageStoreSettings(config);
      return {
        store: createMessageStore({ client: cql, registry, logger, ...settings }),
        guildState: createGuildStateStore({ client: cql, registry, logger, keyspace: settings.keyspace, writeConcurrency: settings.writeConcurrency, readTimeoutMs: settings.readTimeoutMs }),
      };
    });
    await step('joining the consumer group', async () => {
      const attempt = new PersistConsumer({
        kafka,
        topics,
        groupId: config.FANOUT_GROUP_ID,
        sink: store,
        // The topic's own partition count, not the configured one: guilds_by_partition must match
        // the partitions the edge reads guilds' events from.
        guildState: { sink: guildState, partitions },
        logger: log,
        metrics,
        chunkSize: config.FANOUT_CHUNK_SIZE,
        partitionsConcurrently: config.FANOUT_PARTITIONS_CONCURRENTLY,
        retryMinMs: config.FANOUT_RETRY_MIN_MS,
        retryMaxMs: config.FANOUT_RETRY_MAX_MS,
        maxUnexpectedFailures: config.FANOUT_MAX_UNEXPECTED_FAILURES,
        commitIntervalMs: config.FANOUT_COMMIT_INTERVAL_MS,
        onFatal: fatal,
      });
      try {
        await attempt.start();
      } catch (err) {
        await attempt.stop().catch(() => undefined);
        throw err;
      }
      consumer = attempt;
    });
    phase = 'running';
    log.info('fanout started');
  })();
  started.catch((err) => {
    if (aborted.signal.aborted) return;
    fatal(err as Error);
  });

  const sampleLag = async () => {
    if (!consumer) return;
    try {
      for (const { partition, lag } of await groupLag(admin, config.FANOUT_GROUP_ID, topics.events))
        metrics.lag.set({ topic: topics.events, partition: String(partition) }, lag);
    } catch (err) {
      log.debug({ err }, 'lag sample failed');
    }
  };
  const lagTimer = setInterval(sampleLag, config.FANOUT_LAG_SAMPLE_MS);
  lagTimer.unref();

  const running = () => {
    if (!consumer) throw new Error(`starting: ${phase}${lastFailure ? ` (last failure: ${lastFailure})` : ''}`);
    return consumer;
  };
  return {
    name: 'fanout',
    checks: [
      { name: 'started', check: async () => void running() },
      {
        name: 'kafka',
        check: async () => {
          running();
          await admin.listTopics();
        },
      },
      {
        name: 'cassandra',
        check: async () => {
          running();
          await cql.execute('SELECT release_version FROM system.local');
        },
      },
      { name: 'partitions assigned', check: async () => running().checkAssigned() },
      { name: 'consuming', check: async () => running().checkProgress() },
    ],
    async close() {
      clearInterval(lagTimer);
      aborted.abort(new Error('fanout is shutting down'));
      await started.catch(() => undefined);
      await consumer?.stop();
      await admin.disconnect();
      await cql.shutdown();
    },
  };
}

/** Deliveries reuse the event's partition number, so both topics must be partitioned alike. Returns the count. */
async function assertSamePartitioning(admin: Admin, events: string, deliveries: string): Promise<number> {
  const topics = await admin.describeTopics([events, deliveries]);
  const [a, b] = [events, deliveries].map((t) => topics.find((m) => m.name === t)?.partitions.length);
  if (a === undefined || b === undefined) throw new Error(`${a === undefined ? events : deliveries} has no metadata yet`);
  if (a !== b)
    throw new PartitioningMismatch(`${events} has ${a} partitions but ${deliveries} has ${b}: fanout needs them equal (docs/operations.md)`);
  return a;
}
