import { table, writeReport } from '../kit/report.ts';
import { kafkaClientsOption } from '../ingest/ingest-bench.ts';
import { persistDefaults, runPersistBench } from './persist-bench.ts';

// Standalone: `npx tsx bench/persist/run.ts` (BENCH_MESSAGES, BENCH_SECONDS, BENCH_KAFKA_CLIENT; the suite's entry is `npm run bench -- persist`).
const result = await runPersistBench({ ...persistDefaults, messages: Number(process.env.BENCH_MESSAGES ?? persistDefaults.messages), latencySeconds: Number(process.env.BENCH_SECONDS ?? persistDefaults.latencySeconds), kafkaClients: kafkaClientsOption(process.env.BENCH_KAFKA_CLIENT, persistDefaults.kafkaClients) });
console.log(table(result));
console.log(`report: ${await writeReport(result)}`);
process.exit(0);
