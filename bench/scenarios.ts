import { loadStoreConfig } from '../store/index.ts';
import type { BenchResult } from './kit/report.ts';
import { e2eDefaults, runE2eBench } from './e2e/e2e-bench.ts';
import { persistDefaults, runPersistBench } from './persist/persist-bench.ts';
import { runStoreBench } from './store/store-bench.ts';

/** Options every scenario understands (each uses the ones that apply to it). */
export interface CommonOptions {
  durationSeconds: number;
  warmupSeconds: number;
  guilds: number;
  channelsPerGuild: number;
  contentBytes: { min: number; max: number };
  clients: number;
  rate?: number;
  messages?: number;
  /** Closed-loop search for the highest rate whose p99 stays under this bound (ms). */
  p99BoundMs?: number;
}

export interface Scenario {
  name: string;
  summary: string;
  run(options: CommonOptions): Promise<BenchResult>;
}

const scenarios: Scenario[] = [
  {
    name: 'e2e',
    summary: 'simulated Discord → ingest → Kafka → fanout → store → edge → websocket clients, every role its own process; --p99 MS searches for the highest rate that holds',
    run: (o) =>
      runE2eBench({
        ...e2eDefaults,
        rate: o.rate ?? e2eDefaults.rate,
        durationSeconds: o.durationSeconds,
        warmupSeconds: o.warmupSeconds,
        guilds: o.guilds,
        channelsPerGuild: o.channelsPerGuild,
        contentBytes: o.contentBytes,
        clients: o.clients,
        ...(o.p99BoundMs !== undefined ? { p99BoundMs: o.p99BoundMs } : {}),
      }),
  },
  {
    name: 'persist',
    summary: 'Kafka → fanout persist consumer → store, next to the raw cassandra-driver insert rate; record → row delay under an open-loop rate',
    run: (o) =>
      runPersistBench({
        ...persistDefaults,
        messages: o.messages ?? persistDefaults.messages,
        guilds: o.guilds,
        channelsPerGuild: o.channelsPerGuild,
        contentBytes: o.contentBytes,
        latencySeconds: o.durationSeconds,
        ...(o.rate !== undefined ? { latencyRate: o.rate } : {}),
      }),
  },
  {
    name: 'history',
    summary: 'store inserts next to raw executeConcurrent, and latest-50 history latency (p50/p99) under 8 and 32 concurrent readers',
    async run(o) {
      const r = await runStoreBench({ config: loadStoreConfig(), readSeconds: o.durationSeconds, ...(o.messages ? { messagesPerRound: o.messages } : {}) });
      return {
        scenario: 'history',
        config: { ...o, insert: r.insert },
        stages: [{ stage: 'store inserts', perSecond: r.insert.storePerSecond, unit: 'msg/s', baseline: { name: 'raw executeConcurrent', perSecond: r.insert.rawDriverPerSecond } }],
        latency: r.history.map((h) => ({
          name: `latest-50 page, ${h.concurrency} readers`,
          summary: { count: h.requests, p50: h.p50Ms, p90: Number.NaN, p99: h.p99Ms, p999: Number.NaN, max: h.maxMs, mean: Number.NaN },
          distribution: [],
        })),
        findings: [
          ...r.history.map((h) => `${h.concurrency} readers: ${h.requests} pages, ${h.dbQueries} database queries, ${h.coalescedReads} answered by coalescing`),
          `goals: inserts ≥ 80% of raw: ${r.goals.insertAtLeast80PercentOfRaw ? 'met' : 'missed'}; latest-50 p99 ≤ 15 ms: ${r.goals.latest50P99AtMost15Ms ? 'met' : 'missed'}`,
        ],
      };
    },
  },
];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}

export function listScenarios(): readonly Scenario[] {
  return scenarios;
}
