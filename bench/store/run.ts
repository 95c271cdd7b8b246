/**
 * `npx tsx bench/store/run.ts`: the store bench against the Cassandra named by the usual
 * CASSANDRA_* variables (the local node by default). Prints the result as JSON.
 */
import { createLogger } from '../../core/logger.ts';
import { loadStoreConfig } from '../../store/index.ts';
import { runStoreBench } from './store-bench.ts';

const logger = createLogger('bench-store');
const result = await runStoreBench({ config: loadStoreConfig(), logger });
logger.info(result.goals, 'store bench done');
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
