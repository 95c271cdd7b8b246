import { host, loadOrExit } from '../core/process/host.ts';
import { loadFanoutConfig } from './config.ts';
import { startFanout } from './role.ts';

const config = loadOrExit(() => loadFanoutConfig());
await host({
  name: 'fanout',
  ops: { host: config.FANOUT_HTTP_HOST, port: config.FANOUT_HTTP_PORT },
  shutdownTimeoutMs: config.FANOUT_SHUTDOWN_TIMEOUT_MS,
  start: async (context) => [await startFanout(config, context)],
});
