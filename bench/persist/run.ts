import { table, writeReport } from '../kit/report.ts';
import { persistDefaults, runPersistBench } from './persist-bench.ts';

// Standalone: `npx tsx bench/persist/run.ts` (the suite's entry is `npm run bench -- persist`).
const result = await runPersistBench({ ...persistDefaults, messages: Number(process.env.BENCH_MESSAGES ?? persistDefaults.messages), latencySeconds: Number(process.env.BENCH_SECONDS ?? persistDefaults.latencySeconds) });
console.log(table(result));
console.log(`report: ${await writeReport(result)}`);
process.exit(0);
