import { host, loadOrExit } from '../core/process/host.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdgeRole } from './role.ts';

/** `npx tsx gateway-proxy/main.ts` (or `guildcast edge`): one edge process. SIGTERM: op 7 to every client, then exit. */
const config = loadOrExit(() => loadEdgeConfig());
await host({
  name: 'edge',
  ops: { host: config.EDGE_HOST, port: config.EDGE_PORT },
  shutdownTimeoutMs: config.EDGE_DRAIN_GRACE_MS + 15_000,
  start: async (context) => [await startEdgeRole(config, context)],
});
