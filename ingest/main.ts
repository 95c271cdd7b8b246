import { host, loadOrExit } from '../core/process/host.ts';
import { loadIngestConfig } from './config.ts';
import { startIngestRole } from './role.ts';

/**
 * `npx tsx ingest/main.ts`: the ingest role as its own process, HTTP ingest and /healthz, /readyz,
 * /metrics on INGEST_HTTP_PORT. SIGTERM stops it gracefully: shards closed resumably, the buffer
 * flushed, final checkpoints written.
 */
const config = loadOrExit(loadIngestConfig);
if (!config.DISCORD_TOKEN && !config.INGEST_HTTP_TOKEN) {
  process.stderr.write('nothing to ingest: set DISCORD_TOKEN (gateway) and/or INGEST_HTTP_TOKEN (HTTP ingest)\n');
  process.exit(2);
}
await host({
  name: 'ingest',
  ops: { host: config.INGEST_HTTP_HOST, port: config.INGEST_HTTP_PORT },
  shutdownTimeoutMs: 45_000,
  start: async (context) => [await startIngestRole(config, context)],
});
