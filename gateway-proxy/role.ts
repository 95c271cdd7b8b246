import type { HostContext, RunningRole } from '../core/process/host.ts';
import { createCqlClient, createGatewaySessionStore, createGuildStateStore, migrate, type CqlClient } from '../store/index.ts';
import type { EdgeConfig } from './config.ts';
import { mountEdge, type EdgeDeps } from './edge.ts';

/**
 * The edge as a hosted role: mounted on the process's server; SIGTERM drains (exact session
 * checkpoints, then op 7) before closing. Ready while its deliveries consumer is reading now, not
 * merely once joined: a crashed, restarting or stalled consumer turns /readyz red, and one that
 * cannot be restarted stops the process.
 *
 * With EDGE_STATE_STORE=cassandra (the default) guild state and sessions come from the store, so
 * any node serves complete guilds and resumes any session; `none` keeps both in this process.
 * Cassandra is not a readiness check here: a store outage delays checkpoints and new guild loads
 * (counted, logged) but must not take every edge node out of the load balancer at once.
 */
export async function startEdgeRole(config: EdgeConfig, { logger, registry, app, baseUrl, fatal }: HostContext): Promise<RunningRole & { gatewayUrl(): string }> {
  let cql: CqlClient | undefined;
  const stateDeps: Pick<EdgeDeps, 'guildStates' | 'sessionStore'> = {};
  if (config.EDGE_STATE_STORE === 'cassandra') {
    cql = createCqlClient(config);
    await cql.connect();
    const keyspace = config.CASSANDRA_KEYSPACE;
    await migrate(cql, { keyspace, replication: config.CASSANDRA_REPLICATION });
    stateDeps.guildStates = createGuildStateStore({ client: cql, keyspace, registry, logger });
    stateDeps.sessionStore = createGatewaySessionStore({ client: cql, keyspace, logger });
  }
  let edge;
  try {
    edge = await mountEdge(app, config, { logger, registry, baseUrl, fatal, ...stateDeps });
  } catch (err) {
    await cql?.shutdown();
    throw err;
  }
  const mounted = edge;
  return {
    name: 'edge',
    gatewayUrl: () => config.EDGE_GATEWAY_URL ?? config.EDGE_PUBLIC_URL ?? baseUrl().replace(/^http/, 'ws'),
    checks: [
      {
        name: 'deliveries consumer',
        check: async () => {
          const problem = mounted.feedProblem();
          if (problem) throw new Error(problem);
        },
      },
    ],
    async close() {
      await mounted.drain();
      await mounted.close();
      await cql?.shutdown();
    },
  };
}
