import { table, writeReport } from '../kit/report.ts';
import { ingestDefaults, kafkaClientsOption, runIngestBench } from './ingest-bench.ts';

// Standalone: `npx tsx bench/ingest/run.ts` (BENCH_MESSAGES, BENCH_SHARDS, BENCH_SHARDING, BENCH_COMPRESSION, BENCH_KAFKA_CLIENT);
// the suite's entry is `npm run bench -- ingest`.
const result = await runIngestBench({
  ...ingestDefaults,
  messages: Number(process.env.BENCH_MESSAGES ?? ingestDefaults.messages),
  shards: Number(process.env.BENCH_SHARDS ?? ingestDefaults.shards),
  sharding: (process.env.BENCH_SHARDING ?? ingestDefaults.sharding) as 'simple' | 'worker',
  compressions: (process.env.BENCH_COMPRESSION?.split(',') ?? ingestDefaults.compressions) as ('none' | 'gzip')[],
  kafkaClients: kafkaClientsOption(process.env.BENCH_KAFKA_CLIENT, ingestDefaults.kafkaClients),
});
console.log(table(result));
console.log(`report: ${await writeReport(result)}`);
process.exit(0);
