import { withTimeout } from '../../core/async/with-timeout.ts';
import { createKafka } from '../../core/kafka/client.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import type { HostContext, RunningRole } from '../../core/process/host.ts';
import {
  cachedGuildState,
  createBotSettings,
  createCqlClient,
  createGuildStateStore,
  createMessageStore,
  followStateChanges,
  messageStoreSettings,
  migrate,
} from '../../store/index.ts';
import type { ApiConfig } from './api-config.ts';
import { consoleRoutes } from './console.ts';
import { registerApiRoutes } from './api-routes.ts';
import { createTokenSigner, tokenSecret } from '../../gateway-proxy/index.ts';
import { SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import { partitionForKey } from '../../core/events/partition.ts';
import { traceIdSource } from '../../ingest/envelope.ts';
import { createRestProxy } from '../../ingest/rest-proxy/index.ts';
import { kafkaEventPublisher, type DiscordForwarder, type EventPublisher } from './message-backend.ts';

/** Joining a fresh group takes a few seconds; a broker that lets no one join is a failed start, not a hang. */
const FOLLOWER_READY_MS = 60_000;

/**
 * The api role: Discord's REST as bots use it, behind the same guildcast tokens the edge accepts:
 * the bot user and application, channel history over the store (reads coalesced per process),
 * channels and guilds from the guild state, and the message actions (published as events, or
 * forwarded to Discord with DISCORD_TOKEN); the bot's settings; and the live console. Guild state and settings are
 * read through caches that `state-changes` records drop (one follower per process). Stateless;
 * run as many as the database allows.
 */
export async function startApi(config: ApiConfig, { logger, registry, app, baseUrl }: HostContext): Promise<RunningRole> {
  const cql = createCqlClient(config);
  await cql.connect();
  const keyspace = config.CASSANDRA_KEYSPACE;
  await migrate(cql, { keyspace, replication: config.CASSANDRA_REPLICATION });
  const store = createMessageStore({ client: cql, registry, logger, ...messageStoreSettings(config) });

  const kafka = createKafka(config, logger);
  const topics = topicNames(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, standardTopics(config).filter((t) => t.name === topics.stateChanges || t.name === topics.deadLetter || t.name === topics.events), logger);
  const changes = await followStateChanges({ kafka, topics, logger, registry });
  // Before serving: an entry cached before the follower reads would miss the changes in between.
  await withTimeout(changes.ready, FOLLOWER_READY_MS, () => new Error(`the state-changes follower did not join its group within ${FOLLOWER_READY_MS} ms`));
  const cache = { changes, ttlMs: config.API_STATE_CACHE_TTL_MS, max: config.API_STATE_CACHE_MAX, registry };
  const state = cachedGuildState(createGuildStateStore({ client: cql, keyspace, registry, logger }), cache);
  const settings = await createBotSettings({ client: cql, keyspace, kafka, topics, logger, ...cache });

  const deadlineMs = config.STORE_API_DEADLINE_MS;
  const tokens = config.API_REQUIRE_TOKEN ? createTokenSigner(tokenSecret(config, (message) => logger.warn({ component: 'api' }, message))) : undefined;
  if (!tokens) logger.warn({ component: 'api' }, 'API_REQUIRE_TOKEN=false: channel history, guild state and bot settings are served to anyone who can reach this port');
  // The message routes' backend: Discord through the REST proxy when there is a real bot token,
  // else the events topic (guildcast is the source of truth; the simulator only plays the gateway).
  let backend: { publisher: EventPublisher } | { forwarder: DiscordForwarder };
  let producer: Awaited<ReturnType<typeof connectedProducer>> | undefined;
  let proxy: ReturnType<typeof createRestProxy> | undefined;
  if (config.DISCORD_TOKEN) {
    proxy = createRestProxy({ ...config, DISCORD_TOKEN: config.DISCORD_TOKEN }, { logger, registry });
    await app.register(proxy.peerRoutes);
    backend = { forwarder: proxy };
  } else {
    producer = await connectedProducer(kafka);
    backend = { publisher: kafkaEventPublisher(producer, topics.events) };
  }
  const messages = {
    backend,
    snowflakes: new SnowflakeGenerator({ workerId: config.API_SNOWFLAKE_WORKER_ID, processId: process.pid % 32 }),
    newTraceId: traceIdSource(),
    ...(config.INGEST_HTTP_TOKEN && { relay: { tokens: config.INGEST_HTTP_TOKEN, author: { id: config.INGEST_HTTP_AUTHOR_ID, username: config.INGEST_HTTP_AUTHOR_NAME } } }),
  };
  const rateLimit = { limit: config.API_RATE_LIMIT, windowMs: config.API_RATE_WINDOW_MS };
  await registerApiRoutes(app, { store, state, settings, deadlineMs, messages, rateLimit, ...(tokens ? { tokens } : {}) });

  if (config.CONSOLE_ENABLED)
    await app.register(consoleRoutes, {
      admin,
      registry,
      topics,
      fanoutGroupId: config.FANOUT_GROUP_ID,
      gatewayUrl: () => config.CONSOLE_GATEWAY_URL ?? baseUrl().replace(/^http/, 'ws'),
      ...(config.CONSOLE_TOKEN ? { token: config.CONSOLE_TOKEN } : {}),
      ...(config.CONSOLE_INGEST_TOKEN ? { ingestToken: config.CONSOLE_INGEST_TOKEN } : {}),
    });

  return {
    name: 'api',
    checks: [
      { name: 'cassandra', check: async () => void (await cql.execute('SELECT release_version FROM system.local')) },
      { name: 'kafka', check: async () => void (await admin.listTopics()) },
    ],
    async close() {
      state.close();
      await Promise.allSettled([settings.close(), changes.stop(), proxy?.close(), producer?.disconnect()]);
      await admin.disconnect();
      await cql.shutdown();
    },
  };
}

/** Idempotent, and partitioned as ingest partitions: a guild's events stay on one partition, in order. */
async function connectedProducer(kafka: ReturnType<typeof createKafka>) {
  const producer = kafka.producer({ idempotent: true, partitioner: partitionForKey });
  await producer.connect();
  return producer;
}
