import { createKafka } from '../../core/kafka/client.ts';
import { topicNames } from '../../core/kafka/topics.ts';
import type { HostContext, RunningRole } from '../../core/process/host.ts';
import { createCqlClient, createMessageStore, historyRoutes, messageStoreSettings, migrate } from '../../store/index.ts';
import type { ApiConfig } from './api-config.ts';
import { consoleRoutes } from './console.ts';
import { historyAccess } from './history-access.ts';
import { createTokenSigner, tokenSecret } from '../../gateway-proxy/index.ts';

/**
 * The api role: Discord's channel history endpoints over the store (reads coalesced per process),
 * behind the same guildcast tokens the edge accepts, and the live console. Stateless; run as many
 * as the database allows.
 */
export async function startApi(config: ApiConfig, { logger, registry, app, baseUrl }: HostContext): Promise<RunningRole> {
  const cql = createCqlClient(config);
  await cql.connect();
  await migrate(cql, { keyspace: config.CASSANDRA_KEYSPACE, replication: config.CASSANDRA_REPLICATION });
  const store = createMessageStore({ client: cql, registry, logger, ...messageStoreSettings(config) });
  const routes = { store, deadlineMs: config.STORE_API_DEADLINE_MS, prefix: '/api/v10' };
  if (config.API_REQUIRE_TOKEN) {
    const tokens = createTokenSigner(tokenSecret(config, (message) => logger.warn({ component: 'api' }, message)));
    await app.register(historyAccess, { ...routes, tokens });
  } else {
    logger.warn({ component: 'api' }, 'API_REQUIRE_TOKEN=false: channel history is served to anyone who can reach this port');
    await app.register(historyRoutes, routes);
  }

  const admin = createKafka(config, logger).admin();
  await admin.connect();
  if (config.CONSOLE_ENABLED)
    await app.register(consoleRoutes, {
      admin,
      registry,
      topics: topicNames(config),
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
      await admin.disconnect();
      await cql.shutdown();
    },
  };
}
