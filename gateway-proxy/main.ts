import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge } from './edge.ts';

/** `npx tsx gateway-proxy/main.ts`: one edge process. SIGTERM/SIGINT: op 7 to every client, then exit. */
const logger = createLogger('edge');
try {
  const edge = await startEdge(loadEdgeConfig(), { logger, registry: createRegistry('edge') });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    await edge.drain();
    await edge.close();
    process.exit(0);
  };
  process.on('SIGTERM', (s) => void stop(s));
  process.on('SIGINT', (s) => void stop(s));
} catch (err) {
  logger.fatal({ err }, 'edge failed to start');
  process.exit(1);
}
