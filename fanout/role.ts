import { createKafka } from '../core/kafka/client.ts';
import { ensureTopics, standardTopics, topicNames } from '../core/kafka/topics.ts';
import type { HostContext, RunningRole } from '../core/process/host.ts';
import { createCqlClient, createMessageStore, messageStoreSettings, migrate } from '../store/index.ts';
import type { FanoutConfig } from './config.ts';
import { groupLag } from './lag.ts';
import { createFanoutMetrics } from './metrics.ts';
import { PersistConsumer } from './persist-consumer.ts';

/**
 * The fanout role: one member of the persist consumer group. Run as many as there are partitions;
 * more sit idle as standbys.
 */
export async function startFanout(config: FanoutConfig, { logger, registry }: HostContext): Promise<RunningRole> {
  const log = logger.child({ component: 'fanout' });
  const metrics = createFanoutMetrics(registry);
  const kafka = createKafka(config, logger);
  const topics = topicNames(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, standardTopics(config), log);
  await assertSamePartitioning(admin, topics.events, topics.deliveries);

  const cql = createCqlClient(config);
  await cql.connect();
  await migrate(cql, { keyspace: config.CASSANDRA_KEYSPACE, replication: config.CASSANDRA_REPLICATION });
  const store = createMessageStore({ client: cql, registry, logger, ...messageStoreSettings(config) });

  const consumer = new PersistConsumer({
    kafka,
    topics,
    groupId: config.FANOUT_GROUP_ID,
    sink: store,
    logger: log,
    metrics,
    chunkSize: config.FANOUT_CHUNK_SIZE,
    partitionsConcurrently: config.FANOUT_PARTITIONS_CONCURRENTLY,
    retryMinMs: config.FANOUT_RETRY_MIN_MS,
    retryMaxMs: config.FANOUT_RETRY_MAX_MS,
    maxUnexpectedFailures: config.FANOUT_MAX_UNEXPECTED_FAILURES,
  });
  await consumer.start();

  const sampleLag = async () => {
    try {
      for (const { partition, lag } of await groupLag(admin, config.FANOUT_GROUP_ID, topics.events))
        metrics.lag.set({ topic: topics.events, partition: String(partition) }, lag);
    } catch (err) {
      log.debug({ err }, 'lag sample failed');
    }
  };
  const lagTimer = setInterval(sampleLag, config.FANOUT_LAG_SAMPLE_MS);
  lagTimer.unref();

  return {
    name: 'fanout',
    checks: [
      { name: 'kafka', check: async () => void (await admin.listTopics()) },
      { name: 'cassandra', check: async () => void (await cql.execute('SELECT release_version FROM system.local')) },
      {
        name: 'partitions assigned',
        check: async () => {
          if (consumer.assignedPartitions === 0) throw new Error('no partitions assigned yet (or more members than partitions)');
        },
      },
    ],
    async close() {
      clearInterval(lagTimer);
      await consumer.stop();
      await admin.disconnect();
      await cql.shutdown();
    },
  };
}

/** Deliveries reuse the event's partition number, so both topics must be partitioned alike. */
async function assertSamePartitioning(admin: import('kafkajs').Admin, events: string, deliveries: string): Promise<void> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [events, deliveries] });
  const [a, b] = [events, deliveries].map((t) => topics.find((m) => m.name === t)!.partitions.length);
  if (a !== b)
    throw new Error(`${events} has ${a} partitions but ${deliveries} has ${b}: fanout needs them equal (docs/operations.md)`);
}
